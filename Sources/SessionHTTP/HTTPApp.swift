/// An application hosted under a context path, like a webapp in Tomcat.
///
/// The server routes each request to the app of the context with the longest matching path
/// prefix, after the session layer has prepared ``HTTPRequest/sessions``. An error thrown by the app
/// becomes a `500` with a short body, except a temporary session error (store unavailable, too
/// many sessions: ``SessionManagerError/isTemporary``), which becomes a `503` with `Retry-After`;
/// its session is still saved.
public protocol HTTPApp: Sendable {
    /// Answers one request.
    func respond(to request: HTTPRequest) async throws -> HTTPResponse

    /// Called once when an ``HTTPServer`` is made with this app mounted, with every context of
    /// that server: an app that reports on the server (``StatusApp``) keeps them. Default: nothing.
    func mounted(on contexts: [MountedContext])
}

extension HTTPApp {
    public func mounted(on contexts: [MountedContext]) {}
}
