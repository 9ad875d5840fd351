import NIOCore
import NIOHTTP1
import SessionHTTP
import SessionManager

/// The sample webapp (registered as `sample`): a session counter and two static files.
///
/// - `/count`: increments the `count` attribute atomically; plain text `id=…`, `count=…`, `route=…`
///   (the app node that answered) and `store=…` (the store node the session id names, if any).
/// - `/read`: the same body without modifying anything; with no session, `count=0` and none is created.
/// - `/plain`: never touches the session (the baseline for benchmarks).
/// - `/sleep?ms=N[&count]`: gets the session, waits `N` milliseconds (at most 60 000), then with
///   `count` increments like `/count`: a slow request, to watch session locking.
/// - `/`: a small HTML page that counts the visit like `/count` and shows the count, the app node
///   that served it, the session's store node, the id and the creation time.
/// - `/logo.png`, `/style.css`: static files, to show `requestUriIgnorePattern`.
/// - `/login?user=NAME`, `/logout`, `/sessions`, `POST /logout-others`: a user's sessions (see
///   ``SampleAccounts``); the page lists them with a button that logs the others out.
public struct SampleApp: HTTPApp {
    private let content: SampleContent
    private let files: [Substring: (contentType: String, body: ByteBuffer)]

    /// Creates the app; `jvmRoute` is shown in the bodies.
    public init(jvmRoute: String?) throws {
        self.content = try SampleContent(jvmRoute: jvmRoute)
        var files: [Substring: (String, ByteBuffer)] = [:]
        for (path, file) in content.files { files[Substring(path)] = (file.contentType, ByteBuffer(bytes: file.bytes)) }
        self.files = files
    }

    public func respond(to request: HTTPRequest) async throws -> HTTPResponse {
        switch request.pathInContext {
        case "/count":
            let session = try await request.session()
            return .text(content.text(session, SampleContent.increment(session)))
        case "/read":
            let session = try await request.existingSession()
            return .text(content.text(session, session?.get("count", as: Int.self) ?? 0))
        case "/plain":
            return .text("plain\n")
        case "/sleep":
            let session = try await request.session()
            return .text(content.text(session, try await SampleContent.sleep(session, query: request.query)))
        case "/login":
            let session = try await request.session()
            let answer = try await SampleAccounts.logIn(session, query: request.query, userAgent: request.headers.first(name: "User-Agent"))
            return .text(answer.text, status: HTTPResponseStatus(statusCode: answer.status))
        case "/logout":
            let session = try await request.existingSession()
            session?.logOut()
            return .text("logged out\n")
        case "/sessions":
            guard let session = try await request.existingSession(), let user = session.principal else { return .text("") }
            return .text(SampleAccounts.list(try await request.sessions.manager.sessions(of: user), current: session))
        case "/logout-others":
            guard request.method == .POST else { return .text("POST only\n", status: .methodNotAllowed) }
            let headers = request.headers
            guard SampleAccounts.isSameSite(origin: headers.first(name: "Origin"), referer: headers.first(name: "Referer"), host: headers.first(name: "Host")) else {
                return .text("cross-site request refused\n", status: .forbidden)
            }
            guard let session = try await request.existingSession(), let user = session.principal else { return .text("not logged in\n", status: .forbidden) }
            let count = try await request.sessions.manager.invalidateSessions(of: user, except: session.id)
            if headers.first(name: "Origin") != nil || headers.first(name: "Referer") != nil {
                // The page's button: back to the page.
                return HTTPResponse(status: .seeOther, headers: ["Location": request.contextPath + "/"], body: ByteBuffer(string: ""))
            }
            return .text("invalidated=\(count)\n")
        case "/":
            // Each visit counts, so reloading the page in a cluster shows the count going on
            // while the serving node changes.
            let session = try await request.session()
            let count = SampleContent.increment(session)
            var sessions: [PrincipalSession] = []
            if let user = session.principal { sessions = try await request.sessions.manager.sessions(of: user) }
            return .html(content.page(session, count: count, contextPath: request.contextPath, sessions: sessions))
        default:
            if let file = files[request.pathInContext] {
                return HTTPResponse(headers: ["Content-Type": file.contentType], body: file.body)
            }
            return .text("not found\n", status: .notFound)
        }
    }
}
