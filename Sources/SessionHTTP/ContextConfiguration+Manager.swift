import Logging
import SessionManager

/// What every HTTP layer does with a context of a configuration (the bundled server, and the
/// Hummingbird adapter's `ClusterSessions`): one place for its refusal and its manager.
extension ContextConfiguration {
    /// `logger` with this context's `sm.context` metadata (`/` for the root).
    public func logger(from logger: Logger) -> Logger {
        var contextLogger = logger
        contextLogger[metadataKey: "sm.context"] = "\(path.isEmpty ? "/" : path)"
        return contextLogger
    }

    /// Validates the context's `<Manager>` settings, then builds its manager on the nodes that
    /// `nodes` makes for it, logging with ``logger(from:)``.
    /// - Throws: ``SessionManagerError`` naming the context when its settings are refused
    ///   (``ManagerConfiguration/validate()``), or what `nodes` throws.
    public func makeManager(jvmRoute: String?, logger: Logger, nodes: SessionNodesFactory) throws -> SessionManager {
        do {
            try manager.validate()
        } catch {
            throw SessionManagerError(.invalidConfiguration, "context '\(path)': \(error)")
        }
        return SessionManager(
            configuration: manager,
            nodes: try nodes(self),
            jvmRoute: jvmRoute,
            context: path.isEmpty ? "/" : path,
            logger: self.logger(from: logger)
        )
    }
}
