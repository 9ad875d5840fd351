import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP server on a free loopback port that accepts connections and never answers: the
/// "node that hangs" of fault tests. It counts the connections it accepted.
public final class SilentServer: Sendable {
    private let channel: any Channel
    private let accepted: NIOLockedValueBox<Int>

    /// The port it listens on.
    public let port: Int

    private init(channel: any Channel, port: Int, accepted: NIOLockedValueBox<Int>) {
        self.channel = channel
        self.port = port
        self.accepted = accepted
    }

    /// Connections accepted so far.
    public var acceptedConnections: Int { accepted.withLockedValue { $0 } }

    /// Starts listening.
    public static func start() async throws -> SilentServer {
        let accepted = NIOLockedValueBox(0)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { _ in
                accepted.withLockedValue { $0 += 1 }
                return MultiThreadedEventLoopGroup.singleton.any().makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        guard let port = channel.localAddress?.port else { throw ClientError("no local port") }
        return SilentServer(channel: channel, port: port, accepted: accepted)
    }

    /// Stops listening (accepted connections stay open until their peer closes them).
    public func close() async {
        try? await channel.close()
    }
}
