import NIOCore
import NIOPosix

/// Finds free loopback TCP ports for processes a test starts (servers it cannot ask for port 0).
public enum FreePort {
    /// A port that was free a moment ago on 127.0.0.1 (bound to port 0, read, released).
    public static func make() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0)
            .wait()
        defer { try? channel.close().wait() }
        guard let port = channel.localAddress?.port else { throw ClientError("no local port") }
        return port
    }
}
