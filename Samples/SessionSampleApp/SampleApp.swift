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
        case "/":
            // Each visit counts, so reloading the page in a cluster shows the count going on
            // while the serving node changes.
            let session = try await request.session()
            return .html(content.page(session, count: SampleContent.increment(session), contextPath: request.contextPath))
        default:
            if let file = files[request.pathInContext] {
                return HTTPResponse(headers: ["Content-Type": file.contentType], body: file.body)
            }
            return .text("not found\n", status: .notFound)
        }
    }
}
