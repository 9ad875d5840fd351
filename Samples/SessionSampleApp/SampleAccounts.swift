import Foundation
import SessionManager

/// The sample's log in and "your sessions" routes, whatever serves them:
///
/// - `/login?user=NAME`: logs the session in as `NAME` (a new id, the index joined);
/// - `/logout`: logs it out (the session goes on, anonymous);
/// - `/sessions`: the user's sessions on every node, one a line (for curl);
/// - `POST /logout-others`: invalidates the user's other sessions, on every node.
///
/// The session keeps the `User-Agent` it logged in with as `device`, so the page can name each
/// session's device.
public enum SampleAccounts {
    /// The attribute holding the device (the `User-Agent`) a session logged in from.
    public static let deviceAttribute = "device"

    /// `/login?user=NAME`: the answer's text, or a refusal (`409`, the per-user limit with
    /// `principalLimitPolicy="reject"`; `400` without a user).
    public static func logIn(_ session: Session, query: Substring?, userAgent: String?) async throws -> (status: Int, text: String) {
        guard let user = parameter("user", in: query), !user.isEmpty else { return (400, "user=NAME is missing\n") }
        session.set(deviceAttribute, userAgent ?? "")
        do {
            try await session.logIn(principal: user)
        } catch let error as SessionManagerError where error.code == .tooManySessionsForPrincipal {
            return (409, "refused: \(user) has too many sessions\n")
        }
        return (200, "logged in\nuser=\(user)\nid=\(session.id)\n")
    }

    /// `/sessions`: one line per session of the user, oldest login first.
    public static func list(_ sessions: [PrincipalSession], current: Session?) -> String {
        sessions.map { entry in
            let mine = entry.id.random == current?.id.random
            return "session=\(entry.id.logTag) route=\(entry.jvmRoute ?? "") store=\(entry.storeNode ?? "") "
                + "lastAccess=\(entry.lastAccessedTime.ISO8601Format()) current=\(mine ? "yes" : "no") device=\(device(entry))"
        }.joined(separator: "\n") + (sessions.isEmpty ? "" : "\n")
    }

    /// The device a listed session logged in from.
    public static func device(_ entry: PrincipalSession) -> String {
        if case .string(let agent) = entry.attributes[deviceAttribute], !agent.isEmpty { return agent }
        return "unknown device"
    }

    /// Whether a `POST` is this site's own: refused when its `Origin` (or, without one, its
    /// `Referer`) names another host than the request's `Host`; accepted when it names this
    /// host, or when neither header is sent (curl: a browser always sends `Origin` on a
    /// cross-site `POST`).
    public static func isSameSite(origin: String?, referer: String?, host: String?) -> Bool {
        guard let claimed = origin ?? referer else { return true }
        guard let host, let url = URL(string: claimed), let claimedHost = url.host else { return false }
        let claimedAuthority = url.port.map { "\(claimedHost):\($0)" } ?? claimedHost
        return claimedAuthority.lowercased() == host.lowercased()
    }

    /// The value of `name=` in a query (percent-decoded), if any.
    static func parameter(_ name: String, in query: Substring?) -> String? {
        for pair in (query ?? "").split(separator: "&") where pair.hasPrefix(name + "=") {
            return String(pair.dropFirst(name.count + 1)).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
        return nil
    }
}
