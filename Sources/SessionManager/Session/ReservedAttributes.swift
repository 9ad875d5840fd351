import Foundation

/// The facts of a session that are not the app's attributes but travel with them: its principal
/// and its login time. They are stored as attributes with reserved names (prefix `sm:`), so that the
/// stored formats keep their version 1: a reader of the previous release, whose decoders refuse
/// an unknown version, an unknown top-level key or trailing bytes, reads a new session as before
/// and writes these attributes back unchanged (a rolling deploy loses no login).
///
/// Names that start with ``prefix`` are reserved: an app attribute of such a name is replaced by
/// the session's own fact when the session is stored.
enum ReservedAttributes {
    /// The prefix of reserved names.
    static let prefix = "sm:"
    /// The principal (the logged-in user's id), a string.
    static let principal = "sm:principal"
    /// When the session logged in, Unix time in milliseconds (an integer).
    static let loginTime = "sm:loginTime"

    /// A session's stored attributes split into the app's and the session's own facts.
    struct Split: Sendable, Equatable {
        var attributes: [String: SessionValue]
        var principal: String?
        var loginTime: Date?
    }

    /// Splits stored attributes (any release's: a session stored before these existed has none).
    static func split(_ stored: [String: SessionValue]) -> Split {
        guard stored.keys.contains(where: { $0.hasPrefix(prefix) }) else {
            return Split(attributes: stored, principal: nil, loginTime: nil)
        }
        var attributes = stored
        var principal: String?
        var loginTime: Date?
        if case .string(let name)? = attributes.removeValue(forKey: Self.principal) { principal = name }
        if case .int(let milliseconds)? = attributes.removeValue(forKey: Self.loginTime) { loginTime = Date(unixMilliseconds: Int64(milliseconds)) }
        return Split(attributes: attributes, principal: principal, loginTime: loginTime)
    }

    /// The attributes to store: the app's, and the session's own facts under reserved names.
    static func merge(_ attributes: [String: SessionValue], principal: String?, loginTime: Date?) -> [String: SessionValue] {
        guard principal != nil || loginTime != nil else { return attributes }
        var stored = attributes
        stored[Self.principal] = principal.map(SessionValue.string)
        stored[Self.loginTime] = loginTime.map { .int(Int($0.unixMilliseconds)) }
        return stored
    }
}
