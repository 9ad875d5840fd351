import Foundation
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
    private let route: String
    private let files: [Substring: (contentType: String, body: ByteBuffer)]

    /// Creates the app; `jvmRoute` is shown in the bodies.
    public init(jvmRoute: String?) throws {
        self.route = jvmRoute ?? ""
        var files: [Substring: (String, ByteBuffer)] = [:]
        for (name, type) in [("logo.png", "image/png"), ("style.css", "text/css; charset=utf-8")] {
            guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "public") else {
                throw SampleError("missing resource public/\(name)")
            }
            files[Substring("/" + name)] = (type, ByteBuffer(bytes: try Data(contentsOf: url)))
        }
        self.files = files
    }

    public func respond(to request: HTTPRequest) async throws -> HTTPResponse {
        switch request.pathInContext {
        case "/count":
            let session = try await request.session()
            let count = session.update("count", default: 0) { (count: inout Int) in
                count += 1
                return count
            }
            return body(session, count)
        case "/read":
            let session = try await request.existingSession()
            return body(session, session?.get("count", as: Int.self) ?? 0)
        case "/plain":
            return .text("plain\n")
        case "/sleep":
            let session = try await request.session()
            let parameters = (request.query ?? "").split(separator: "&")
            let milliseconds = parameters.lazy.compactMap { $0.hasPrefix("ms=") ? Int($0.dropFirst(3)) : nil }.first ?? 0
            try await Task.sleep(for: .milliseconds(min(max(0, milliseconds), 60_000)))
            let counts = parameters.contains("count")
            let count = counts
                ? session.update("count", default: 0) { (count: inout Int) in
                    count += 1
                    return count
                }
                : session.get("count", as: Int.self) ?? 0
            return body(session, count)
        case "/":
            // Each visit counts, so reloading the page in a cluster shows the count going on
            // while the serving node changes.
            let session = try await request.session()
            let count = session.update("count", default: 0) { (count: inout Int) in
                count += 1
                return count
            }
            return .html(page(session, count: count, contextPath: request.contextPath))
        default:
            if let file = files[request.pathInContext] {
                return HTTPResponse(headers: ["Content-Type": file.contentType], body: file.body)
            }
            return .text("not found\n", status: .notFound)
        }
    }

    /// The plain-text answer of `/count`, `/read` and `/sleep`.
    private func body(_ session: Session?, _ count: Int) -> HTTPResponse {
        .text("id=\(session?.id.description ?? "")\ncount=\(count)\nroute=\(route)\nstore=\(session?.id.nodeID ?? "")\n")
    }

    private func page(_ session: Session, count: Int, contextPath: String) -> String {
        """
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
        </body></html>

        """
    }
}

/// A problem setting up the sample.
public struct SampleError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
