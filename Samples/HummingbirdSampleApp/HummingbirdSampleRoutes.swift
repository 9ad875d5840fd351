#if HummingbirdSupport
import Hummingbird
import SessionHummingbird
import SessionManager
import SessionSampleApp

/// The sample's routes (`count`, `read`, `plain`, `sleep`, the page, the static files) under one
/// context path of a Hummingbird router, with ``ClusterSessionMiddleware``: the bodies of the
/// bundled server's `SampleApp`, so that both can serve one cluster.
public struct HummingbirdSampleRoutes: Sendable {
    let content: SampleContent
    let contextPath: String

    /// The routes of the context at `contextPath` (`/myapp`), answering with `content`.
    public init(content: SampleContent, contextPath: String) {
        self.content = content
        self.contextPath = contextPath
    }

    /// Adds the routes to `router` in a group of the context path, behind `middleware`.
    public func add(to router: Router<BasicClusterSessionRequestContext>, middleware: ClusterSessionMiddleware<BasicClusterSessionRequestContext>) {
        let group = contextPath.isEmpty ? router.group() : router.group(RouterPath(contextPath))
        group.add(middleware: middleware)
        group.get("count") { _, context in
            let session = try await context.session()
            return text(content.text(session, SampleContent.increment(session)))
        }
        group.get("read") { _, context in
            let session = try await context.existingSession()
            return text(content.text(session, session?.get("count", as: Int.self) ?? 0))
        }
        group.get("plain") { _, _ in text("plain\n") }
        group.get("sleep") { request, context in
            let session = try await context.session()
            return text(content.text(session, try await SampleContent.sleep(session, query: request.uri.query.map { Substring($0) })))
        }
        group.get("") { _, context in
            // Each visit counts, so reloading the page in a cluster shows the count going on.
            let session = try await context.session()
            let page = content.page(session, count: SampleContent.increment(session), contextPath: contextPath)
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        for (path, file) in content.files {
            let body = ByteBuffer(bytes: file.bytes)
            group.get(RouterPath(String(path.dropFirst()))) { _, _ in
                Response(status: .ok, headers: [.contentType: file.contentType], body: .init(byteBuffer: body))
            }
        }
    }

    private func text(_ body: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
#endif
