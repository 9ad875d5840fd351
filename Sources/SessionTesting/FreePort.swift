import NIOCore
import NIOPosix
import Synchronization

/// Finds free loopback TCP ports for processes a test starts (servers it cannot ask for port 0).
public enum FreePort {
    /// Every port this process has handed out. Tests run in parallel, and the kernel may give the
    /// same free port to two of them between "released here" and "bound by the server": the
    /// second server then fails to bind while its test, probing the port, finds the first test's
    /// server answering and goes on talking to it (a suspended server that still answers, a
    /// server killed by another test). A port is therefore handed out once per process.
    private static let given = Mutex<Set<Int>>([])

    /// A port that was free a moment ago on 127.0.0.1 (bound to port 0, read, released) and that
    /// this process has not handed out before.
    public static func make() throws -> Int {
        for _ in 0..<100 {
            let port = try bindAndRelease()
            if given.withLock({ $0.insert(port).inserted }) { return port }
        }
        throw ClientError("no loopback port that was not handed out already")
    }

    private static func bindAndRelease() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0)
            .wait()
        defer { try? channel.close().wait() }
        guard let port = channel.localAddress?.port else { throw ClientError("no local port") }
        return port
    }
}
