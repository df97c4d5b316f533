import NIOCore
import NIOHTTPTypes

/// A request's head must arrive within the request timeout of its first byte, or the connection is closed.
///
/// The route reads the body under the same timeout (`Routes.readBody`), and an idle keep-alive connection is closed
/// by the idle timeout; this covers the gap between them: a client that opens a request and sends one header line a
/// second. Hummingbird adds its extra handlers after the HTTP decoder, which sees the head only once it is whole, so
/// this handler puts a `FirstByte` watcher at the front of the pipeline (before TLS, so a trickled handshake counts
/// too): the first byte after a request has wholly arrived starts the clock, the next decoded head stops it. (By
/// the request's end, not the response's: a server that answers early, a 413, leaves the rest of the body to
/// arrive, and pipelined requests are decoded before the one before them is answered.)
final class HeaderDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private enum State {
        /// Between requests: the next byte starts the clock.
        case idle
        /// A request has begun and its head is not yet whole.
        case awaitingHead(Scheduled<Void>)
        /// The head arrived; the route's body timeout takes over until the request's end.
        case inRequest
    }

    private let timeout: TimeAmount
    private let onExpiry: @Sendable () -> Void
    private var state = State.idle
    private var watcher: FirstByte?

    /// `onExpiry` runs on the event loop when a connection is closed for a late head (a metric, a log line).
    init(timeout: TimeAmount, onExpiry: @escaping @Sendable () -> Void = {}) {
        self.timeout = timeout
        self.onExpiry = onExpiry
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let watcher = FirstByte(deadline: self)
        do {
            try context.pipeline.syncOperations.addHandler(watcher, position: .first)
            self.watcher = watcher
        } catch {
            context.fireErrorCaught(error)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopClock()
        if let watcher { context.pipeline.syncOperations.removeHandler(watcher, promise: nil) }
        watcher = nil
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
        switch unwrapInboundIn(data) {
        case .head:
            stopClock()
            state = .inRequest
        case .end:
            stopClock()
        case .body:
            break
        }
        context.fireChannelRead(data)
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
