/// How a failure should be reported to the person or program that caused it.
///
/// Every error type in the library conforms to ``DocketFailure`` so the command line can map it to one of the
/// documented exit codes without knowing the layer it came from.
public enum FailureCategory: Sendable {
    /// The answer is "no": a refused append, an ineligible gate, violations found by `verify`.
    case refused
    /// The input is wrong (argument, file, envelope, policy); the message says which and how to fix it.
    case badInput
    /// Anything else: I/O, a database that cannot be opened, a bug.
    case failure
}

/// An error a person at the terminal can act on.
public protocol DocketFailure: Error, CustomStringConvertible {
    var category: FailureCategory { get }
}
