#if VaporSupport
import SessionManager
import SessionSampleApp
import SessionVapor
import Vapor

/// The sample's routes (`count`, `read`, `plain`, `sleep`, the page, the static files) under one
/// context path of a Vapor app, with ``ClusterSessionMiddleware``: the bodies of the bundled
/// server's `SampleApp`, so that both can serve one cluster.
public struct VaporSampleRoutes: Sendable {
    let content: SampleContent
    let contextPath: String

    /// The routes of the context at `contextPath` (`/myapp`), answering with `content`.
    public init(content: SampleContent, contextPath: String) {
        self.content = content
        self.contextPath = contextPath
    }

    /// The context path's components, for `grouped`.
    var pathComponents: [PathComponent] {
        contextPath.split(separator: "/").map { PathComponent(stringLiteral: String($0)) }
    }

    /// Adds the routes to `routes` in a group of the context path, behind `middleware`.
    public func add(to routes: any RoutesBuilder, middleware: ClusterSessionMiddleware) {
        let group = routes.grouped(pathComponents).grouped(middleware)
        let content = self.content
        let contextPath = self.contextPath
        group.get("count") { req async throws -> Response in
            let session = try await req.clusterSession()
            return Self.text(content.text(session, SampleContent.increment(session)))
        }
        group.get("read") { req async throws -> Response in
            let session = try await req.existingClusterSession()
            return Self.text(content.text(session, session?.get("count", as: Int.self) ?? 0))
        }
        group.get("plain") { _ in Self.text("plain\n") }
        group.get("sleep") { req async throws -> Response in
            let session = try await req.clusterSession()
            return Self.text(content.text(session, try await SampleContent.sleep(session, query: req.url.query.map { Substring($0) })))
        }
        group.get { req async throws -> Response in
            // Each visit counts, so reloading the page in a cluster shows the count going on.
            let session = try await req.clusterSession()
            let page = content.page(session, count: SampleContent.increment(session), contextPath: contextPath)
            return Response(status: .ok, headers: ["Content-Type": "text/html; charset=utf-8"], body: .init(string: page))
        }
        for (path, file) in content.files {
            let bytes = file.bytes
            let type = file.contentType
            group.get(PathComponent(stringLiteral: String(path.dropFirst()))) { _ in
                Response(status: .ok, headers: ["Content-Type": type], body: .init(data: Data(bytes)))
            }
        }
    }

    /// The same routes for an app that keeps Vapor's `req.session.data` (strings), on
    /// ``ClusterSessionDriver`` behind Vapor's own `SessionsMiddleware` with `configuration`'s
    /// cookie: `count`, `read` and `plain`.
    public func addSessionData(to routes: any RoutesBuilder, driver: ClusterSessionDriver, configuration: SessionsConfiguration) {
        let base = routes.grouped(pathComponents)
        base.get("plain") { _ in Self.text("plain\n") }
        let group = base.grouped(SessionsMiddleware(session: driver, configuration: configuration))
        let content = self.content
        group.get("count") { req -> Response in
            let count = (req.session.data["count"].flatMap { Int($0) } ?? 0) + 1
            req.session.data["count"] = String(count)
            // A new session's id is made after the handler: the body shows the one it came with.
            return Self.text(content.text(id: req.session.id.flatMap { ClusterSessionID(parsing: $0.string) }, count))
        }
        group.get("read") { req -> Response in
            let count = req.session.data["count"].flatMap { Int($0) } ?? 0
            return Self.text(content.text(id: req.session.id.flatMap { ClusterSessionID(parsing: $0.string) }, count))
        }
    }

    static func text(_ body: String) -> Response {
        Response(status: .ok, headers: ["Content-Type": "text/plain; charset=utf-8"], body: .init(string: body))
    }
}
#endif
