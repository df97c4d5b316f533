import ArgumentParser
import DocketCore

// The core's closed sets of values, parsed by ArgumentParser itself: `--help` lists them and a wrong value is a
// usage error (exit 2) that names the valid ones. The core cannot conform them: it never imports ArgumentParser.

extension Role: ExpressibleByArgument {}
extension Predicates.CheckResult: ExpressibleByArgument {}
extension Predicates.IncidentState: ExpressibleByArgument {}

extension Role {
    /// `--role`: one role name; a wrong one says which roles exist.
    static func argument(_ text: String) throws -> Role { try Role(parsing: text) }
}
