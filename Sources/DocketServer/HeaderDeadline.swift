import NIOCore
import NIOHTTPTypes

/// A request's head must arrive within the request timeout of its first byte, or the connection is closed.
///
/// The route reads the body under the same timeout (`Routes.readBody`), and an idle keep-alive connection is closed
/// by the idle timeout; this covers the gap between them: a client that opens a request and sends one header line a
/// second. Hummingbird adds its extra handlers after the HTTP decoder, which sees the head only once it is whole, so
/// this handler puts a `FirstByte` watcher at the front of the pipeline (before TLS, so a trickled handshake counts
/// too): the first byte after a response starts the clock, the decoded head stops it.
final class HeaderDeadline: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        /// Between requests: the next byte starts the clock.
        case idle
        /// A request has begun and its head is not yet whole.
        case awaitingHead(Scheduled<Void>)
        /// The head arrived; the route's body timeout and the response take over.
        case inRequest
    }

    private let timeout: TimeAmount
    private let onExpiry: @Sendable () -> Void
    private var state = State.idle

    /// `onExpiry` runs on the event loop when a connection is closed for a late head (a metric, a log line).
    init(timeout: TimeAmount, onExpiry: @escaping @Sendable () -> Void = {}) {
        self.timeout = timeout
        self.onExpiry = onExpiry
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let watcher = FirstByte(deadline: self)
        try? context.pipeline.syncOperations.addHandler(watcher, position: .first)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopClock()
    }

    /// Called by the watcher, on the event loop, for every read of raw bytes.
    fileprivate func bytesArrived(context: ChannelHandlerContext) {
        guard case .idle = state else { return }
        let channel = context.channel
        let onExpiry = self.onExpiry
        state = .awaitingHead(
            context.eventLoop.scheduleTask(in: timeout) {
                onExpiry()
                channel.close(promise: nil)
            })
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            stopClock()
            state = .inRequest
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), case .inRequest = state { state = .idle }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopClock()
        context.fireChannelInactive()
    }

    private func stopClock() {
        if case .awaitingHead(let scheduled) = state { scheduled.cancel() }
        state = .idle
    }
}

/// The watcher `HeaderDeadline` puts first in the pipeline: it tells the deadline that bytes arrived, and passes
/// them on untouched.
private final class FirstByte: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let deadline: HeaderDeadline

    init(deadline: HeaderDeadline) {
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        deadline.bytesArrived(context: context)
        context.fireChannelRead(data)
    }
}
