/// msm's `lockingMode`: which requests of a non-sticky context lock their session in the store,
/// so that two app nodes serving one user at once cannot lose each other's changes.
///
/// A request is known by its **request id**, msm's `"<METHOD> <path>[?<query>]"` (the query
/// omitted for `POST`; the path includes the context path, as received).
public enum LockingMode: Sendable {
    /// Never lock (msm's default): the last write wins.
    case none
    /// Every request that loads its session locks it.
    case all
    /// Lock unless the request id is known to be read-only: a request id whose request loaded the
    /// session and did not change it is learned as read-only (a bounded set, see
    /// ``ReadOnlyRequests``); one whose request changed a session never is again. The first
    /// request of every request id locks.
    case auto
    /// Lock when the pattern matches the whole request id (`uriPattern:^GET /myapp/count.*`).
    case uriPattern(pattern: String, regex: RequestIDPattern)

    /// Parses msm's attribute value: `none`, `all`, `auto` or `uriPattern:<regex>`.
    /// - Throws: ``SessionManagerError`` (`.invalidConfiguration`) naming what is allowed.
    public init(parsing text: String) throws {
        switch text {
        case "none": self = .none
        case "all": self = .all
        case "auto": self = .auto
        case _ where text.hasPrefix("uriPattern:"):
            let pattern = String(text.dropFirst("uriPattern:".count))
            guard !pattern.isEmpty else {
                throw SessionManagerError(.invalidConfiguration, "uriPattern: needs a regular expression after the colon")
            }
            self = .uriPattern(pattern: pattern, regex: try RequestIDPattern(pattern))
        default:
            throw SessionManagerError(.invalidConfiguration, "'\(text)' is not a locking mode; expected none, all, auto or uriPattern:<regex>")
        }
    }

    /// `false` for ``none``.
    public var locks: Bool {
        if case .none = self { false } else { true }
    }
}

/// A regular expression matched against a whole request id (Java's `Pattern.matches`).
public struct RequestIDPattern: @unchecked Sendable {
    // `Regex<AnyRegexOutput>` is immutable after construction; it is only read here.
    private let regex: Regex<AnyRegexOutput>

    /// Compiles `pattern`.
    /// - Throws: ``SessionManagerError`` (`.invalidConfiguration`) when it is not a valid regex.
    public init(_ pattern: String) throws {
        do {
            regex = try Regex(pattern)
        } catch {
            throw SessionManagerError(.invalidConfiguration, "not a valid regular expression: \(error)")
        }
    }

    /// Whether the pattern matches the whole of `requestID`.
    public func matches(_ requestID: String) -> Bool {
        (try? regex.wholeMatch(in: requestID)) != nil
    }
}

/// What a request does when its session's lock cannot be had within `operationTimeout` (held by
/// another node all along, or the store failed): the XML attribute `lockFailure`, ours (msm has
/// only the second behaviour, silently).
public enum LockFailurePolicy: String, Sendable, CaseIterable {
    /// The request is answered `503 Service Unavailable` with `Retry-After: 1`; the app is not run
    /// (the bundled server takes the lock before the app when the request must lock).
    case reject
    /// msm's behaviour: the request goes on with the session unlocked (its write may overwrite
    /// another node's). Logged as a warning each time, and counted.
    case proceed
}
