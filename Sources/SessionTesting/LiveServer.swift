import Logging
import NIOCore
import ServiceLifecycle
import SessionHTTP

/// Runs an ``HTTPServer`` for the duration of a test body and stops it afterwards.
public enum LiveServer {
    /// Runs `server` (configured with port 0 or a fixed port), calls `body` with the bound port,
    /// then cancels the server and waits for it to stop.
    public static func with<R: Sendable>(
        _ server: HTTPServer,
        _ body: @Sendable (Int) async throws -> R
    ) async throws -> R {
        try await withThrowingTaskGroup(of: R?.self) { group in
            group.addTask {
                try await server.run()
                return nil
            }
            let port = try await server.localAddress.port ?? 0
            let result: R
            do {
                result = try await body(port)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
            while let next = try await group.next() { _ = next }
            return result
        }
    }
}
