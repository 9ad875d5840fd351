import NIOCore
import NIOHTTP1

/// An app mounted under a context path with its session middleware.
public struct MountedContext: Sendable {
    /// `""` for the root context, otherwise `/name`.
    public let path: String
    /// The application.
    public let app: any HTTPApp
    /// Its session layer.
    public let sessions: SessionMiddleware

    /// Mounts `app` at `path`.
    public init(path: String, app: any HTTPApp, sessions: SessionMiddleware) {
        self.path = path
        self.app = app
        self.sessions = sessions
    }
}

/// Picks the context with the longest path prefix that matches a request path at a segment
/// boundary (`/myapp` matches `/myapp` and `/myapp/x`, not `/myapplication`).
struct ContextRouter: Sendable {
    /// Longest path first, so the first match is the longest.
    private let contexts: [MountedContext]

    init(contexts: [MountedContext]) {
        self.contexts = contexts.sorted { $0.path.utf8.count > $1.path.utf8.count }
    }

    func route(_ path: Substring) -> MountedContext? {
        for context in contexts {
            if context.path.isEmpty { return context }
            guard path.hasPrefix(context.path) else { continue }
            let rest = path.utf8.dropFirst(context.path.utf8.count)
            if rest.isEmpty || rest.first == UInt8(ascii: "/") { return context }
        }
        return nil
    }
}
