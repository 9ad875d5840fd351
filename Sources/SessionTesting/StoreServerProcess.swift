import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A real `redis-server` or `memcached` started by a test on a free loopback port: stopped, killed
/// and restarted on the same port, so a test can take a node down and bring it back.
///
/// When the binary is missing, ``start(_:)`` throws a message that says how to install it; tests
/// use ``StoreServerProcess/Kind/isRunnable`` so that outside CI they are skipped with that message,
/// while in CI (`CI` set) they run and fail.
public final class StoreServerProcess: Sendable {
    /// Which server.
    public enum Kind: Sendable, CustomStringConvertible {
        /// `redis-server`, optionally with `requirepass`.
        case redis(password: String? = nil)
        /// `memcached`, with its item size limit in bytes (`-I`, default 1 MiB).
        case memcached(itemSizeLimit: Int? = nil)
        /// `redis-server` with `cluster-enabled yes`, this `cluster-node-timeout`, and replicas that
        /// always may take over (`cluster-replica-validity-factor 0`) (its
        /// `nodes.conf` is kept across restarts, so a restarted node rejoins its cluster).
        case redisClusterNode(nodeTimeoutMilliseconds: Int = 1000)
        /// `redis-server` as a replica of the Redis on `masterPort` (loopback).
        case redisReplica(masterPort: Int)
        /// `redis-sentinel` watching the Redis on `masterPort` under `masterName`, with a quorum
        /// and the time after which an unanswering master is considered down.
        case sentinel(masterName: String, masterPort: Int, quorum: Int = 2, downAfterMilliseconds: Int = 1000)

        var executable: String {
            switch self {
            case .redis, .redisClusterNode, .redisReplica: return "redis-server"
            case .memcached: return "memcached"
            case .sentinel: return "redis-sentinel"
            }
        }

        var package: String { executable }

        public var description: String { executable }

        /// Whether tests needing this server should run: the binary exists, or `CI` is set (where a
        /// missing server must fail the run, not skip it).
        public var isRunnable: Bool {
            ProcessInfo.processInfo.environment["CI"] != nil || StoreServerProcess.find(executable) != nil
        }

        /// What to tell a developer whose machine lacks the server.
        public var installHint: String {
            "\(executable) is not installed: run Scripts/install-dependencies.sh test (or apt-get install \(package))"
        }
    }

    /// How a server listens over TLS (see ``TestCertificates``).
    public struct TLS: Sendable {
        /// The PKI.
        public var certificates: TestCertificates
        /// Which certificate the server shows.
        public var certificate: Certificate
        /// The server certificates of ``TestCertificates``.
        public enum Certificate: Sendable {
            /// For `localhost` and `127.0.0.1`.
            case localhost
            /// Expired in 2020.
            case expired
            /// For `sessions.internal` only.
            case named
        }
        /// Refuse clients without a certificate of the CA (Redis `tls-auth-clients yes`).
        public var requireClientCertificate: Bool

        public init(certificates: TestCertificates, certificate: Certificate = .localhost, requireClientCertificate: Bool = false) {
            self.certificates = certificates
            self.certificate = certificate
            self.requireClientCertificate = requireClientCertificate
        }

        var certificateFile: String {
            switch certificate {
            case .localhost: certificates.serverCertificateFile
            case .expired: certificates.expiredServerCertificateFile
            case .named: certificates.namedServerCertificateFile
            }
        }
        var keyFile: String {
            switch certificate {
            case .localhost: certificates.serverKeyFile
            case .expired: certificates.expiredServerKeyFile
            case .named: certificates.namedServerKeyFile
            }
        }

        /// `redis-server`'s TLS options, the port TLS-only (`--port 0`).
        func redisArguments(port: Int) -> [String] {
            ["--port", "0", "--tls-port", "\(port)", "--tls-cert-file", certificateFile, "--tls-key-file", keyFile,
                "--tls-ca-cert-file", certificates.caFile, "--tls-auth-clients", requireClientCertificate ? "yes" : "no"]
        }

        /// `redis-cli`'s options to reach such a server (with the client certificate).
        public var cliArguments: [String] {
            // --insecure: the test's own probes also reach a server with an expired certificate.
            ["--tls", "--insecure", "--cacert", certificates.caFile, "--cert", certificates.clientCertificateFile, "--key", certificates.clientKeyFile]
        }
    }

    /// The server kind.
    public let kind: Kind
    /// The loopback port it listens on (kept across restarts); TLS-only with ``tls``.
    public let port: Int
    /// TLS, if the server listens with it.
    public let tls: TLS?
    /// memcached's `-Y` login (`user:password`), if any.
    public let memcachedLogin: String?
    /// A plaintext port of a TLS memcached, for the test's own probes and counts.
    private let adminPort: Int?
    private let executable: String
    private let process = Mutex<Process?>(nil)
    /// A folder of this server's own (Redis `dir`: a cluster node's `nodes.conf`, a sentinel's
    /// configuration, which sentinels rewrite), removed with the object.
    private let folder: URL

    /// `127.0.0.1:<port>`.
    public var address: String { "127.0.0.1:\(port)" }

    private init(kind: Kind, port: Int, executable: String, tls: TLS?, memcachedLogin: String?) throws {
        self.kind = kind
        self.port = port
        self.tls = tls
        self.memcachedLogin = memcachedLogin
        if case .memcached = kind, tls != nil { self.adminPort = try FreePort.make() } else { self.adminPort = nil }
        self.executable = executable
        self.folder = FileManager.default.temporaryDirectory.appendingPathComponent("sm-\(kind.executable)-\(port)-\(UUID().uuidString)")
    }

    /// Starts a server on a free port and waits until it answers.
    /// With `tls`, the server listens only with TLS (Redis `--port 0 --tls-port`; memcached `-Z`,
    /// with a plaintext admin port for the test's probes); `memcachedLogin` (`user:password`)
    /// starts memcached with `-Y`.
    public static func start(_ kind: Kind, tls: TLS? = nil, memcachedLogin: String? = nil) async throws -> StoreServerProcess {
        guard let executable = find(kind.executable) else { throw ClientError(kind.installHint) }
        // Between "free" and "bound by the server", something else on the machine may take the
        // port (any connection's ephemeral port): the server then exits at start, and a new port
        // is tried.
        var attempt = 1
        while true {
            let server = try StoreServerProcess(kind: kind, port: try FreePort.make(), executable: executable, tls: tls, memcachedLogin: memcachedLogin)
            do {
                try await server.launch()
                return server
            } catch is ExitedAtStart where attempt < 3 {
                attempt += 1
            }
        }
    }

    /// The server process ended before it answered: usually its port was taken meanwhile.
    struct ExitedAtStart: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `body` with a started server and kills the server afterwards.
    public static func with<T>(
        _ kind: Kind,
        tls: TLS? = nil,
        memcachedLogin: String? = nil,
        _ body: (StoreServerProcess) async throws -> T
    ) async throws -> T {
        let server = try await start(kind, tls: tls, memcachedLogin: memcachedLogin)
        do {
            let result = try await body(server)
            server.kill()
            return result
        } catch {
            server.kill()
            throw error
        }
    }

    private var arguments: [String] {
        switch kind {
        case .redis(let password):
            // Its own folder: a server that becomes a replica (Sentinel converts a returning master)
            // writes the RDB it receives there, not in the working directory.
            var arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", folder.path]
            if let password { arguments += ["--requirepass", password] }
            if let tls { arguments += tls.redisArguments(port: port) }
            return arguments
        case .redisClusterNode(let timeout):
            return ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", folder.path,
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "\(timeout)",
                // A replica may take over however long ago its master last wrote to it (the
                // default refuses one idle for 10 node timeouts), and hears from it every second.
                "--cluster-replica-validity-factor", "0", "--repl-ping-replica-period", "1",
                // The other masters' slots stay served while one master is failing (the default
                // answers CLUSTERDOWN for every slot until the cluster is whole again).
                "--cluster-require-full-coverage", "no"]
                + (tls.map { $0.redisArguments(port: port) + ["--tls-cluster", "yes", "--tls-replication", "yes"] } ?? [])
        case .redisReplica(let masterPort):
            return ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", folder.path,
                "--replicaof", "127.0.0.1", "\(masterPort)"] + (tls.map { $0.redisArguments(port: port) + ["--tls-replication", "yes"] } ?? [])
        case .sentinel:
            return [folder.appendingPathComponent("sentinel.conf").path]
        case .memcached(let limit):
            var arguments = ["-l", "127.0.0.1", "-p", "\(port)", "-U", "0", "-m", "64"]
            if let tls, let adminPort {
                arguments = ["-l", "127.0.0.1:\(port)", "-l", "notls:127.0.0.1:\(adminPort)", "-U", "0", "-m", "64", "-Z",
                    "-o", "ssl_chain_cert=\(tls.certificateFile),ssl_key=\(tls.keyFile),ssl_ca_cert=\(tls.certificates.caFile)"]
            }
            if memcachedLogin != nil { arguments += ["-Y", folder.appendingPathComponent("auth").path] }
            if getuid() == 0 { arguments += ["-u", "root"] }  // memcached refuses to run as root otherwise
            // A slab chunk may not be larger than the item limit (memcached refuses to start).
            if let limit { arguments += ["-I", "\(limit)", "-o", "slab_chunk_max=\(min(limit / 2, 524_288))"] }
            return arguments
        }
    }

    private func launch() async throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if case .sentinel(let name, let masterPort, let quorum, let downAfter) = kind {
            let configuration = FileManager.default.fileExists(atPath: folder.appendingPathComponent("sentinel.conf").path)
                ? nil
                : """
                port \(port)
                bind 127.0.0.1
                daemonize no
                dir \(folder.path)
                sentinel monitor \(name) 127.0.0.1 \(masterPort) \(quorum)
                sentinel down-after-milliseconds \(name) \(downAfter)
                sentinel failover-timeout \(name) 3000
                sentinel parallel-syncs \(name) 1

                """
            let tlsLines = tls.map { tls in
                """
                port 0
                tls-port \(port)
                tls-cert-file \(tls.certificateFile)
                tls-key-file \(tls.keyFile)
                tls-ca-cert-file \(tls.certificates.caFile)
                tls-auth-clients no
                tls-replication yes

                """
            } ?? ""
            try configuration.map { $0 + tlsLines }?.write(to: folder.appendingPathComponent("sentinel.conf"), atomically: true, encoding: .utf8)
        }
        if let memcachedLogin { try (memcachedLogin + "\n").write(to: folder.appendingPathComponent("auth"), atomically: true, encoding: .utf8) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process.withLock { $0 = process }
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if !process.isRunning { throw ExitedAtStart(description: "\(kind) exited at start (status \(process.terminationStatus)); port \(port) taken?") }
            if await answers() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill()
        throw ClientError("\(kind) did not answer on port \(port) within 10 s")
    }

    /// Whether the server answers a ping (`PING` / `version`) right now.
    public func answers() async -> Bool {
        if let tls, kind.executable != "memcached" {
            guard let reply = try? await redisCLI(tls, ["PING"]) else { return false }
            return reply.contains("PONG") || reply.contains("NOAUTH")
        }
        let probe: String
        let expected: String
        switch kind {
        case .redis, .redisClusterNode, .redisReplica, .sentinel:
            probe = "PING\r\n"
            expected = "+PONG"  // or -NOAUTH when a password is set: still up
        case .memcached:
            probe = "version\r\n"
            expected = "VERSION"
        }
        guard let reply = try? await LineProbe.exchange(host: "127.0.0.1", port: adminPort ?? port, send: probe) else { return false }
        return reply.hasPrefix(expected) || reply.hasPrefix("-NOAUTH") || reply.hasPrefix("CLIENT_ERROR unauthenticated")
    }

    /// Runs `redis-cli` with TLS against this server; its output.
    private func redisCLI(_ tls: TLS, _ command: [String]) async throws -> String {
        guard let cli = Self.find("redis-cli") else { throw ClientError("redis-cli is not installed: run Scripts/install-dependencies.sh test") }
        let (status, output) = try await ChildProcess.run(cli, ["-h", "127.0.0.1", "-p", "\(port)"] + tls.cliArguments + command)
        guard status == 0 else { throw ClientError("redis-cli \(command.joined(separator: " ")) failed: \(output)") }
        return output
    }

    /// How many commands the server has executed, by name, as it counts them itself (Redis `INFO
    /// commandstats`: `get`, `getex`, `set`, `del`, `pexpire`…; memcached `stats`: `cmd_get`,
    /// `cmd_set`, `cmd_touch`, `delete_hits`…), without this probe's own command. A test reads it
    /// before and after some requests: the difference is what they cost the store.
    public func commandCounts() async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        switch kind {
        case .redis, .redisClusterNode, .redisReplica, .sentinel:
            // The PING after INFO marks the end of the reply.
            let reply: String
            if let tls {
                reply = try await redisCLI(tls, ["INFO", "commandstats"])
            } else {
                reply = try await LineProbe.exchange(host: "127.0.0.1", port: port, send: "INFO commandstats\r\nPING\r\n", until: "+PONG\r\n")
            }
            for line in reply.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
                // cmdstat_getex:calls=3,usec=…
                let name = line.dropFirst("cmdstat_".count).prefix { $0 != ":" }
                guard let calls = line.split(separator: ",").first?.split(separator: "=").last.flatMap({ Int($0) }) else { continue }
                if name != "info" && name != "ping" { counts[String(name)] = calls }
            }
        case .memcached:
            let login = memcachedLogin.map { "set auth 0 0 \($0.utf8.count)\r\n\($0.replacingOccurrences(of: ":", with: " "))\r\n" } ?? ""
            let reply = try await LineProbe.exchange(host: "127.0.0.1", port: adminPort ?? port, send: login + "stats\r\n", until: "END\r\n")
            for line in reply.split(whereSeparator: \.isNewline) {
                let fields = line.split(separator: " ")
                if fields.count == 3, fields[0] == "STAT", let value = Int(fields[2]) { counts[String(fields[1])] = value }
            }
        }
        return counts
    }

    /// The store commands a session manager sends, from ``commandCounts()``: Redis reads,
    /// writes, touches and deletes; memcached `cmd_get` (`get`, `gat`), `cmd_set`, `cmd_touch`
    /// (`touch`, `gat`) and deletes. A `gat` counts once in `cmd_get` and once in `cmd_touch`, so
    /// memcached reads count twice.
    public func sessionCommandCount() async throws -> Int {
        let counts = try await commandCounts()
        let names: [String]
        switch kind {
        case .redis, .redisClusterNode, .redisReplica, .sentinel: names = ["get", "getex", "set", "del", "pexpire", "expire"]
        case .memcached: names = ["cmd_get", "cmd_set", "cmd_touch", "delete_hits", "delete_misses"]
        }
        return names.reduce(0) { $0 + (counts[$1] ?? 0) }
    }

    /// Kills the server with SIGKILL (a crash: no goodbye on open connections) and waits for it.
    public func kill() { signal(SIGKILL) }

    /// Stops the server with SIGTERM and waits for it.
    public func stop() { signal(SIGTERM) }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered. Returns once the
    /// kernel reports the process stopped (`T` in `/proc/<pid>/stat`): the signal is delivered
    /// asynchronously, and a command sent in that window would still be answered.
    public func suspend() async {
        let pid: pid_t? = process.withLock { p in
            guard let p, p.isRunning else { return nil }
            Foundation.kill(p.processIdentifier, SIGSTOP)
            return p.processIdentifier
        }
        guard let pid else { return }
        for _ in 0..<1000 {
            if Self.isStopped(pid) { return }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// `true` when `/proc/<pid>/stat` gives the state `T` (stopped).
    private static func isStopped(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        // "pid (comm) S ...": the state follows the command name, which may contain spaces.
        return stat[stat.index(after: close)...].split(separator: " ").first == "T"
    }

    /// Whether the server process is running (not killed or stopped by the test).
    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    /// Unfreezes a suspended server (SIGCONT).
    public func resume() { process.withLock { p in if let p, p.isRunning { Foundation.kill(p.processIdentifier, SIGCONT) } } }

    /// Starts the server again on the same port (after ``kill()`` or ``stop()``).
    public func restart() async throws {
        kill()
        try await launch()
    }

    private func signal(_ signal: Int32) {
        let running: Process? = process.withLock { p in
            defer { p = nil }
            return p
        }
        guard let running, running.isRunning else { return }
        Foundation.kill(running.processIdentifier, SIGCONT)
        Foundation.kill(running.processIdentifier, signal)
        running.waitUntilExit()
    }

    deinit {
        signal(SIGKILL)
        try? FileManager.default.removeItem(at: folder)
    }

    /// The absolute path of an executable on `PATH` or in the sbin folders Debian uses.
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let folders = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/bin"]
        return folders.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// Sends one line to a TCP server and reads the first reply line (for readiness probes).
enum LineProbe {
    static func exchange(host: String, port: Int, send: String, until terminator: String = "\r\n") async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(500))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: send))
            var received = ""
            for try await chunk in inbound {
                received += String(buffer: chunk)
                if received.hasSuffix(terminator) { break }
            }
            return received
        }
    }
}

extension StoreServerProcess {
    /// The seconds a memcached key has left (`mg <key> t`): `nil` when it is absent, -1 when it
    /// never expires.
    public func memcachedTTL(_ key: String) async throws -> Int? {
        let reply = try await LineProbe.exchange(host: "127.0.0.1", port: port, send: "mg \(key) t\r\n")
        guard reply.hasPrefix("HD") else { return nil }
        return reply.split(separator: " ").first { $0.hasPrefix("t") }.flatMap { Int($0.dropFirst().trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}
