import Logging
import NIOCore
import ServiceLifecycle
import SessionHTTP

/// Runs an ``HTTPServer`` for the duration of a test body and stops it afterwards.
public enum LiveServer {
    /// Runs `server` (configured with port 0 or a fixed port), calls `body` with the bound port,
    /// then stops the server with a graceful shutdown, as the sample does on SIGTERM, and waits
    /// for it to stop.
    ///
    /// Not by cancelling it: a cancelled accept loop drops the connections NIO has accepted but
    /// not handed out yet, and NIO traps on them ("Deinited NIOAsyncWriter without calling
    /// finish()", swift-nio #2813); a graceful shutdown closes the listening socket and serves
    /// what was already accepted.
    public static func with<R: Sendable>(
        _ server: HTTPServer,
        _ body: @Sendable (Int) async throws -> R
    ) async throws -> R {
        let services = ServiceGroup(services: [server], logger: Logger(label: "live-server"))
        return try await withThrowingTaskGroup(of: R?.self) { group in
            group.addTask {
                try await services.run()
                return nil
            }
            let result: Result<R, any Error>
            do {
                let port = try await server.localAddress.port ?? 0
                result = .success(try await body(port))
            } catch {
                result = .failure(error)
            }
            await services.triggerGracefulShutdown()
            while let next = try await group.next() { _ = next }
            return try result.get()
        }
    }
}
