import Foundation
import SessionManager

/// What the sample's routes do and say, whatever serves them: the bundled server's ``SampleApp``
/// and the Hummingbird sample answer with the same bodies, so a cluster can mix them.
public struct SampleContent: Sendable {
    /// A static file of the sample (under `requestUriIgnorePattern`: no session).
    public struct File: Sendable {
        public let contentType: String
        public let bytes: [UInt8]
    }

    /// This app node's `jvmRoute`, `""` without one.
    public let route: String
    /// The static files by path in the context (`/logo.png`, `/style.css`).
    public let files: [String: File]

    /// Loads the static files; `jvmRoute` is shown in the bodies.
    public init(jvmRoute: String?) throws {
        self.route = jvmRoute ?? ""
        var files: [String: File] = [:]
        for (name, type) in [("logo.png", "image/png"), ("style.css", "text/css; charset=utf-8")] {
            guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "public") else {
                throw SampleError("missing resource public/\(name)")
            }
            files["/" + name] = File(contentType: type, bytes: Array(try Data(contentsOf: url)))
        }
        self.files = files
    }

    /// Increments the session's `count` atomically and returns the new value.
    public static func increment(_ session: Session) -> Int {
        session.update("count", default: 0) { (count: inout Int) in
            count += 1
            return count
        }
    }

    /// `/sleep?ms=N[&count]`: waits `N` milliseconds (at most 60 000) holding the session, then with
    /// `count` increments it; returns the count.
    public static func sleep(_ session: Session, query: Substring?) async throws -> Int {
        let parameters = (query ?? "").split(separator: "&")
        let milliseconds = parameters.lazy.compactMap { $0.hasPrefix("ms=") ? Int($0.dropFirst(3)) : nil }.first ?? 0
        try await Task.sleep(for: .milliseconds(min(max(0, milliseconds), 60_000)))
        return parameters.contains("count") ? increment(session) : session.get("count", as: Int.self) ?? 0
    }

    /// The plain-text answer of `/count`, `/read` and `/sleep`; `user=` is the logged-in user
    /// (empty when logged out).
    public func text(_ session: Session?, _ count: Int) -> String {
        text(id: session?.id, count) + "user=\(session?.principal ?? "")\n"
    }

    /// The same for a session known by its id only (the Vapor sample's `req.session.data` routes).
    public func text(id: SessionID?, _ count: Int) -> String {
        "id=\(id?.description ?? "")\ncount=\(count)\nroute=\(route)\nstore=\(id?.nodeID ?? "")\n"
    }

    /// The HTML page at the context's root; `sessions`: the logged-in user's sessions.
    public func page(_ session: Session, count: Int, contextPath: String, sessions: [PrincipalSession] = []) -> String {
        let user = session.principal
        return """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>swift-session-manager sample</title>
        <link rel="stylesheet" href="\(contextPath)/style.css"></head>
        <body><h1><img src="\(contextPath)/logo.png" alt="" width="32" height="32"> Session</h1>
        <table>
        <tr><td>count</td><td><b>\(count)</b></td></tr>
        <tr><td>served by app node</td><td><b>\(route.isEmpty ? "(no jvmRoute)" : route)</b></td></tr>
        <tr><td>session's store node</td><td><b>\(session.id.nodeID ?? "(the only one)")</b></td></tr>
        <tr><td>id</td><td>\(session.id)</td></tr>
        <tr><td>created</td><td>\(session.creationTime.ISO8601Format())</td></tr>
        </table>
        <p><a href="\(contextPath)/count">count</a> · <a href="\(contextPath)/read">read</a></p>
        \(user.map { accountSection(user: $0, session: session, sessions: sessions, contextPath: contextPath) } ?? "<p>Not logged in: <a href=\"\(contextPath)/login?user=alice\">log in as alice</a></p>")
        </body></html>

        """
    }
}

extension SampleContent {
    /// The logged-in part of the page: the user's sessions on every node, and a button that logs
    /// the others out (a same-site `POST`).
    func accountSection(user: String, session: Session, sessions: [PrincipalSession], contextPath: String) -> String {
        let rows = sessions.map { entry in
            let mine = entry.id.random == session.id.random
            return "<tr class=\"session\"><td>\(Self.escape(SampleAccounts.device(entry)))\(mine ? " <b>(this one)</b>" : "")</td>"
                + "<td>\(Self.escape(entry.jvmRoute ?? ""))</td><td>\(entry.lastAccessedTime.ISO8601Format())</td></tr>"
        }.joined(separator: "\n")
        return """
            <h2>Logged in as <span id="user">\(Self.escape(user))</span></h2>
            <table id="sessions"><tr><th>device</th><th>app node</th><th>last access</th></tr>
            \(rows)
            </table>
            <form method="post" action="\(contextPath)/logout-others"><button id="logout-others" type="submit">Log out the other sessions</button></form>
            <p><a href="\(contextPath)/logout">log out</a></p>
            """
    }

    /// Text made safe for HTML.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// A problem setting up the sample.
public struct SampleError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
