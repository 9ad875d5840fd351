import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import SessionManager
import SessionPeerEndpoint

/// The bundled HTTP/1.1 server: keep-alive, pipelining (answered in order), header and body limits,
/// a deadline for each request, and graceful shutdown as a ServiceLifecycle `Service`.
///
/// ``run()`` binds, serves until cancelled or shut down gracefully, and also runs the contexts'
/// stores (their pools and sweeps), stopping them after the last connection is done. On graceful
/// shutdown it first drains (see ``ServerDrain``: answers close their connections, sticky changes
/// are written before their answers, and the writes after earlier answers finish), then stops
/// accepting, lets in-flight requests finish (answered with `Connection: close`) and closes idle
/// connections; after ``ConnectorConfiguration/shutdownTimeout`` it closes the rest.
public final class HTTPServer: Service {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// The connector settings.
    public let connector: ConnectorConfiguration
    private let router: ContextRouter
    private let managers: [SessionManager]
    private let group: any EventLoopGroup
    private let logger: Logger
    private let bound: EventLoopPromise<SocketAddress>
    private let executors: [(any EventLoop, EventLoopTaskExecutor)]
    private let drain: ServerDrain
    /// This node's store endpoint for its peers (`<SessionPeer>`), if any: it listens from before
    /// the managers start until after they stopped.
    private let peer: PeerEndpoint?

    /// Creates a server for already mounted contexts.
    /// - Parameters:
    ///   - connector: address, port and limits.
    ///   - contexts: the mounted apps.
    ///   - eventLoopGroup: NIO threads (default: NIO's shared group, one thread per core).
    ///   - logger: server logger.
    public convenience init(
        connector: ConnectorConfiguration,
        contexts: [MountedContext],
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.init(connector: connector, contexts: contexts, peer: nil, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// The same, with this node's store endpoint for its peers.
    init(connector: ConnectorConfiguration, contexts: [MountedContext], peer: PeerEndpoint?, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.peer = peer
        self.connector = connector
        self.router = ContextRouter(contexts: contexts)
        for context in contexts { context.app.mounted(on: contexts) }
        var seen = Set<ObjectIdentifier>()
        self.managers = contexts.map(\.sessions.manager).filter { seen.insert(ObjectIdentifier($0)).inserted }
        self.group = eventLoopGroup
        self.executors = eventLoopGroup.makeIterator().map { ($0, EventLoopTaskExecutor(eventLoop: $0)) }
        self.logger = logger
        self.bound = eventLoopGroup.next().makePromise(of: SocketAddress.self)
        self.drain = ServerDrain(eventLoop: eventLoopGroup.next())
    }

    deinit {
        bound.fail(CancellationError())
    }

    /// The address the server listens on, once it is bound (useful with port 0).
    /// - Throws: if binding failed or the server stopped before binding.
    public var localAddress: SocketAddress {
        get async throws { try await bound.futureResult.get() }
    }

    public func run() async throws {
        let serverChannel: NIOAsyncChannel<Connection, Never>
        do {
            serverChannel = try await makeBootstrap().bind(host: connector.address, port: connector.port) { channel in
                channel.eventLoop.makeCompletedFuture { try self.configure(channel) }
            }
        } catch {
            bound.fail(error)
            throw error
        }
        guard let address = serverChannel.channel.localAddress else {
            bound.fail(ChannelError.ioOnClosedChannel)
            throw ChannelError.ioOnClosedChannel
        }
        bound.succeed(address)
        logger.info("listening", metadata: ["sm.address": "\(address)"])

        let peerTask = peer.map { peer in
            Task {
                do {
                    try await peer.run()
                } catch {
                    self.logger.critical("session peer endpoint failed; stopping", metadata: ["sm.error": "\(error)"])
                    serverChannel.channel.close(promise: nil)
                }
            }
        }
        defer { peerTask?.cancel() }
        try await withThrowingTaskGroup(of: Void.self) { background in
            for manager in managers {
                background.addTask {
                    do {
                        // Not stopped by graceful shutdown: the requests still under way need
                        // their stores until the last connection has ended (below).
                        try await manager.runUntilStopped()
                    } catch {
                        // A store that cannot work (a wrong password) stops the server: better a
                        // clear failure at start than every request failing.
                        self.logger.critical("session store failed; stopping", metadata: ["sm.error": "\(error)"])
                        serverChannel.channel.close(promise: nil)
                        throw error
                    }
                }
            }
            await withTaskGroup(of: Void.self) { serving in
                serving.addTask {
                    // Graceful shutdown: drain, then stop accepting (see ServerDrain).
                    guard (try? await gracefulShutdown()) != nil else { return }
                    self.drain.begin()
                    for manager in self.managers { manager.beginDraining() }
                    for manager in self.managers { await manager.drainPendingWrites(within: self.connector.shutdownTimeout) }
                    serverChannel.channel.close(promise: nil)
                    self.drain.finish()
                }
                await withTaskCancellationHandler {
                    await self.accept(serverChannel)
                } onCancel: {
                    serverChannel.channel.close(promise: nil)
                }
                // The listener closed (drained, cancelled, or a store failed): the drain task
                // ends too, if it still waits for the shutdown.
                serving.cancelAll()
            }
            drain.finish()
            // Every connection has ended: the managers finish their background work, then close
            // their stores.
            for manager in managers { manager.stop() }
            try await background.waitForAll()
        }
        logger.info("stopped")
    }

    /// One executor per event loop, made once (see ``EventLoopTaskExecutor``).
    private func executor(for eventLoop: any EventLoop) -> EventLoopTaskExecutor {
        executors.first { $0.0 === eventLoop }?.1 ?? EventLoopTaskExecutor(eventLoop: eventLoop)
    }

    private func makeBootstrap() -> ServerBootstrap {
        let logger = self.logger
        return ServerBootstrap(group: group)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptPauseHandler(logger: logger))
                }
            }
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
    }

    /// The per-connection pipeline: response encoder, request decoder (NIO's llhttp codec, with
    /// our limits and a bound on what it may hold undecoded), pipelining assistance (a pipelined
    /// request waits until the response before it is written, and reading pauses meanwhile),
    /// response-header validation, the connection rules (``HTTPConnectionHandler``), then the
    /// async bridge the connection loop reads.
    ///
    /// Built by hand rather than with `configureHTTPServerPipeline` for two reasons: the decoder's
    /// buffer needs a bound (after a request with `Upgrade` the codec stops parsing and would
    /// otherwise keep every later byte), and NIO's paired encoder drops the body of any answer to
    /// `CONNECT`, while ours refuses it with an explanation. `HEAD` is answered without a body
    /// by ``write(_:for:keepAlive:to:)``.
    private func configure(_ channel: any Channel) throws -> Connection {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = connector.maxHttpHeaderSize
        limits.maxHeaderFieldSize = connector.maxHttpHeaderSize
        let decoder = HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop, limitConfiguration: limits)
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(HTTPResponseEncoder())
        try sync.addHandler(ByteToMessageHandler(decoder, maximumBufferSize: connector.maxHttpHeaderSize))
        try sync.addHandler(HTTPServerPipelineHandler())
        try sync.addHandler(NIOHTTPResponseHeadersValidator())
        try sync.addHandler(
            HTTPConnectionHandler(
                limits: .init(
                    maxHeaderSize: connector.maxHttpHeaderSize,
                    maxBodySize: connector.maxPostSize,
                    requestTimeout: TimeAmount(connector.connectionTimeout)
                )
            )
        )
        return try Connection(wrappingChannelSynchronously: channel)
    }

    private func accept(_ serverChannel: NIOAsyncChannel<Connection, Never>) async {
        do {
            try await serverChannel.executeThenClose { connections in
                await withDiscardingTaskGroup { group in
                    do {
                        for try await connection in connections {
                            let executor = self.executor(for: connection.channel.eventLoop)
                            group.addTask(executorPreference: executor) { await self.serve(connection) }
                        }
                    } catch {
                        self.logger.debug("accept loop ended", metadata: ["sm.error": "\(error)"])
                    }
                }
            }
        } catch {
            logger.debug("server channel closed", metadata: ["sm.error": "\(error)"])
        }
    }

    /// Serves one connection's requests in order until it closes, the client asks to close, or the
    /// server shuts down. The ``HTTPConnectionHandler`` has already refused what must not reach
    /// an app (oversized heads and bodies, `CONNECT`, a missing `Host`).
    private func serve(_ connection: Connection) async {
        let shutdown = ConnectionShutdown()
        let channel = connection.channel
        await withGracefulShutdownHandler {
            do {
                try await connection.executeThenClose { inbound, outbound in
                    var requestHead: HTTPRequestHead?
                    var body = ByteBuffer()
                    // After a final answer the connection handler closes the connection (gently,
                    // see LingeringCloseHandler); the loop only waits for that.
                    var answeredLast = false
                    for try await part in inbound where !answeredLast {
                        switch part {
                        case .head(let head):
                            shutdown.setBusy(true)
                            requestHead = head
                            body.clear()
                        case .body(var chunk):
                            body.writeBuffer(&chunk)
                        case .end:
                            guard let head = requestHead else { continue }
                            requestHead = nil
                            let (response, sessions) = await respond(to: head, body: body)
                            let keepAlive = head.isKeepAlive && !shutdown.isClosing && !drain.isDraining
                            do {
                                try await write(response, for: head, keepAlive: keepAlive, to: outbound)
                            } catch {
                                await sessions?.afterResponse()
                                throw error
                            }
                            // Sticky mode writes the session now: the client has its answer, and
                            // the connection counts as busy until the write is done, so a graceful
                            // shutdown waits for it.
                            await sessions?.afterResponse()
                            if !keepAlive { answeredLast = true } else if !shutdown.setBusy(false) { return }
                        }
                    }
                }
            } catch {
                logger.trace("connection ended", metadata: ["sm.error": "\(error)"])
            }
        } onGracefulShutdown: {
            // While the server drains, the connection serves on (its answers close it); once the
            // listener is closed, an idle connection closes at once.
            let shutdownTimeout = TimeAmount(self.connector.shutdownTimeout)
            self.drain.whenStopped {
                if shutdown.beginClosing() {
                    channel.close(promise: nil)
                } else {
                    // A request is under way: it may finish, but not hold the shutdown up for ever.
                    channel.eventLoop.scheduleTask(in: shutdownTimeout) {
                        channel.close(promise: nil)
                    }
                }
            }
        }
    }

    private func respond(to head: HTTPRequestHead, body: ByteBuffer) async -> (HTTPResponse, SessionHTTPExchange?) {
        let target = RequestTarget(head.uri)
        guard let path = target.path, let context = router.route(path) else {
            return (.text("not found\n", status: .notFound), nil)
        }
        return await context.sessions.respond(
            head: head,
            body: body,
            path: path,
            query: target.query,
            contextPath: context.path,
            app: context.app
        )
    }

    private func write(
        _ response: HTTPResponse,
        for request: HTTPRequestHead,
        keepAlive: Bool,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.readableBytes))
        if !keepAlive {
            headers.replaceOrAdd(name: "Connection", value: "close")
        } else if request.version.minor == 0 {
            headers.replaceOrAdd(name: "Connection", value: "keep-alive")
        }
        let head = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        if request.method == .HEAD {
            // The headers of the GET answer, without its body (RFC 9110 §9.3.2).
            try await outbound.write(contentsOf: [.head(head), .end(nil)])
        } else {
            try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(response.body)), .end(nil)])
        }
    }
}
