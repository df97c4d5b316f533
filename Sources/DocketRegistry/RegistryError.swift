import DocketCore

/// Why a registry operation failed, with the exit code's category: a name or credential that cannot be used is
/// bad input; a registry that cannot be reached, refuses, or serves bytes that do not hash to what it claims is
/// a failure (exit 3), never a silent success.
public struct RegistryError: DocketFailure {
    public var description: String
    public var category: FailureCategory
    /// The HTTP status, when the registry answered.
    public var status: Int?

    public init(_ description: String, category: FailureCategory = .failure, status: Int? = nil) {
        self.description = description
        self.category = category
        self.status = status
    }

    static func badInput(_ description: String) -> RegistryError { RegistryError(description, category: .badInput) }
}
