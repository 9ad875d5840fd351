import CoreMetrics
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The store endpoint of an app node (issue 32): serves this process's copies of its peers'
/// sessions over the memcached text protocol, so that the peers reach it with the memcached store
/// as an ordinary node of `memcachedNodes`.
///
/// On loopback it may run plaintext without a login; on any other address the configuration
/// requires both a login (memcached's text-protocol authentication) and TLS, because a writable
/// endpoint lets whoever reaches it plant a session.
package final class PeerEndpoint: Sendable {
    private let host: String
    private let port: Int
    private let cache: Mutex<PeerCache>
    private let executor: PeerCommandExecutor
    private let maximumValue: Int
    private let logger: Logger
    private let started = ContinuousClock.now
    /// Whether the endpoint said it is full (once, when it first evicts a copy).
    private let saidFull = Atomic<Bool>(false)
    /// TLS of every connection, or `nil` for plaintext.
    private let tls: NIOSSLContext?
    /// `sm_peer_evictions_total`: copies evicted to stay within the limit (each a lost backup).
    private let evictionCounter: Counter

    /// Creates the endpoint; nothing listens until ``run(bound:)``.
    /// - Parameters:
    ///   - nodeID: its id in the peers' `memcachedNodes` (the metric's `node` dimension).
    ///   - credentials: the login a connection must give first, or `nil` for none.
    ///   - tls: the certificate and key to serve TLS with, or `nil` for plaintext.
    /// - Throws: ``PeerEndpointError`` when the TLS files cannot be used.
    package init(
        host: String = "127.0.0.1",
        port: Int,
        nodeID: String = "",
        limitBytes: Int,
        credentials: (username: String, password: String)? = nil,
        tls: PeerEndpointTLS? = nil,
        logger: Logger
    ) throws(PeerEndpointError) {
        self.tls = try tls?.context()
        self.evictionCounter = Counter(label: "sm_peer_evictions_total", dimensions: [("node", nodeID)])
        self.host = host
        self.port = port
        self.cache = Mutex(PeerCache(limitBytes: limitBytes))
        self.executor = PeerCommandExecutor(credentials: credentials, version: "1.6.0-swift-session-peer-\(UUID().uuidString.prefix(8))")
        self.maximumValue = min(limitBytes, 128 << 20)
        self.logger = logger
    }

    /// The time for the cache and the protocol's absolute expirations.
    private var clock: PeerCommandExecutor.Clock {
        let elapsed = ContinuousClock.now - started
        return .init(
            nowMilliseconds: elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000,
            unixSeconds: Int64(Date().timeIntervalSince1970)
        )
    }

    /// Runs `command` for a connection (on its event loop): the reply's bytes.
    fileprivate func run(_ command: PeerCommand, authenticated: inout Bool) -> [UInt8] {
        let clock = self.clock
        let (reply, evicted) = cache.withLock { cache in
            let before = cache.evictions
            return (executor.run(command, on: &cache, authenticated: &authenticated, clock: clock), cache.evictions - before)
        }
        guard evicted > 0 else { return reply }
        evictionCounter.increment(by: evicted)
        if !saidFull.exchange(true, ordering: .relaxed) {
            // A state change, said once: each eviction is a peer's lost backup copy.
            logger.warning(
                "session peer endpoint is full: the least recently used copies are evicted (lost backups of the peers' sessions); raise maxBytes",
                metadata: ["sm.maxBytes": "\(cache.withLock { $0.limitBytes })"]
            )
        }
        return reply
    }

    fileprivate func parse(_ bytes: UnsafeRawBufferPointer) -> (PeerCommand, consumed: Int)? {
        PeerCommandParser.parse(bytes, maximumValue: maximumValue)
    }

    /// Listens until the task is cancelled; `bound` gets the port once listening.
    package func run(bound: @Sendable (Int) -> Void = { _ in }) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.addHandler(PeerConnectionHandler(endpoint: self))
                }
            }
            .bind(host: host, port: port)
            .get()
        bound(server.localAddress?.port ?? port)
        try await withTaskCancellationHandler {
            try await server.closeFuture.get()
        } onCancel: {
            server.close(promise: nil)
        }
    }

    /// Items evicted to stay within the limit.
    package var evictions: Int { cache.withLock { $0.evictions } }
}

/// One peer's connection: commands in (any split, pipelined), replies out in order, flushed once
/// per read.
private final class PeerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let endpoint: PeerEndpoint
    private var buffer: ByteBuffer?
    private var authenticated = false

    init(endpoint: PeerEndpoint) {
        self.endpoint = endpoint
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffer == nil { buffer = incoming } else { buffer?.writeBuffer(&incoming) }
        guard var pending = buffer else { return }
        var out = context.channel.allocator.buffer(capacity: 256)
        var close = false
        while let (command, consumed) = pending.withUnsafeReadableBytes({ endpoint.parse($0) }) {
            pending.moveReaderIndex(forwardBy: consumed)
            out.writeBytes(endpoint.run(command, authenticated: &authenticated))
            if case .malformed = command { close = true; break }
        }
        buffer = pending.readableBytes == 0 ? nil : pending
        if out.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(out), promise: nil) }
        if close { context.close(promise: nil) }
    }
}
