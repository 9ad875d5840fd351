/// msm's `sessionAttributeFilter`: only attributes whose **name** matches (as a whole, like Java's
/// `Pattern.matches`) are written to the store; the others live only as long as the session stays
/// in this process, and a session loaded from the store never has them.
///
/// Use it for attributes that are cheap to rebuild or must not leave the node (a decrypted key, a
/// cache). Change detection sees filtered attributes only: changing a filtered-out attribute writes nothing.
public struct SessionAttributeFilter: Sendable {
    /// The pattern as configured.
    public let pattern: String
    private let regex: UncheckedRegex

    /// `Regex<AnyRegexOutput>` is immutable after construction and only read here.
    private struct UncheckedRegex: @unchecked Sendable {
        let regex: Regex<AnyRegexOutput>
    }

    /// Compiles `pattern`; throws when it is not a valid regular expression.
    public init(_ pattern: String) throws {
        self.pattern = pattern
        do {
            self.regex = UncheckedRegex(regex: try Regex(pattern))
        } catch {
            throw SessionManagerError(.invalidConfiguration, "not a valid regular expression: \(error)")
        }
    }

    /// Whether the attribute `name` is stored.
    public func includes(_ name: String) -> Bool {
        (try? regex.regex.wholeMatch(in: name)) != nil
    }

    /// The attributes that are stored.
    public func apply(_ attributes: [String: SessionValue]) -> [String: SessionValue] {
        attributes.filter { includes($0.key) }
    }
}
