import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import SessionManager

/// The bundled HTTP/1.1 server: keep-alive, pipelining (answered in order), header and body limits,
/// an idle timeout, and graceful shutdown as a ServiceLifecycle `Service`.
///
/// ``run()`` binds, serves until cancelled or shut down gracefully, and also runs the contexts'
/// stores (their pools and sweeps), stopping them after the last connection is done. On graceful
/// shutdown it stops accepting, lets in-flight requests finish (answered with `Connection: close`)
/// and closes idle connections.
public final class HTTPServer: Service {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// The connector settings.
    public let connector: ConnectorConfiguration
    private let router: ContextRouter
    private let stores: [any SessionStore]
    private let group: any EventLoopGroup
    private let logger: Logger
    private let bound: EventLoopPromise<SocketAddress>
    private let executors: [(any EventLoop, EventLoopTaskExecutor)]

    /// Creates a server for already mounted contexts.
    /// - Parameters:
    ///   - connector: address, port and limits.
    ///   - contexts: the mounted apps.
    ///   - eventLoopGroup: NIO threads (default: NIO's shared group, one thread per core).
    ///   - logger: server logger.
    public init(
        connector: ConnectorConfiguration,
        contexts: [MountedContext],
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.connector = connector
        self.router = ContextRouter(contexts: contexts)
        var seen = Set<ObjectIdentifier>()
        self.stores = contexts.map(\.sessions.manager.store).filter { seen.insert(ObjectIdentifier($0 as AnyObject)).inserted }
        self.group = eventLoopGroup
        self.executors = eventLoopGroup.makeIterator().map { ($0, EventLoopTaskExecutor(eventLoop: $0)) }
        self.logger = logger
        self.bound = eventLoopGroup.next().makePromise(of: SocketAddress.self)
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

        try await withThrowingTaskGroup(of: Void.self) { background in
            for store in stores {
                background.addTask {
                    do {
                        try await store.run()
                    } catch {
                        // A store that cannot work (a wrong password) stops the server: better a
                        // clear failure at start than every request failing.
                        self.logger.critical("session store failed; stopping", metadata: ["sm.error": "\(error)"])
                        serverChannel.channel.close(promise: nil)
                        throw error
                    }
                }
            }
            await withGracefulShutdownHandler {
                await withTaskCancellationHandler {
                    await self.accept(serverChannel)
                } onCancel: {
                    serverChannel.channel.close(promise: nil)
                }
            } onGracefulShutdown: {
                serverChannel.channel.close(promise: nil)
            }
            background.cancelAll()
            try await background.waitForAll()
        }
        logger.info("stopped")
    }

    /// One executor per event loop, made once (see ``EventLoopTaskExecutor``).
    private func executor(for eventLoop: any EventLoop) -> EventLoopTaskExecutor {
        executors.first { $0.0 === eventLoop }?.1 ?? EventLoopTaskExecutor(eventLoop: eventLoop)
    }

    private func makeBootstrap() -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
    }

    /// The per-connection pipeline: HTTP codec with our limits, pipelining assistance, error
    /// answers (400/431), the idle timeout, then the async bridge the connection loop reads.
    private func configure(_ channel: any Channel) throws -> Connection {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = connector.maxHttpHeaderSize
        limits.maxHeaderFieldSize = connector.maxHttpHeaderSize
        let sync = channel.pipeline.syncOperations
        try sync.configureHTTPServerPipeline(
            withPipeliningAssistance: true,
            withErrorHandling: false,
            withEncoderConfiguration: .init(),
            withDecoderLimitConfiguration: limits
        )
        let idle = TimeAmount.nanoseconds(Int64(connector.connectionTimeout.components.seconds) * 1_000_000_000
            + connector.connectionTimeout.components.attoseconds / 1_000_000_000)
        try sync.addHandler(IdleStateHandler(readTimeout: idle))
        try sync.addHandler(ConnectionPolicyHandler())
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
    /// server shuts down.
    private func serve(_ connection: Connection) async {
        let shutdown = ConnectionShutdown()
        let channel = connection.channel
        await withGracefulShutdownHandler {
            do {
                try await connection.executeThenClose { inbound, outbound in
                    var requestHead: HTTPRequestHead?
                    var body = ByteBuffer()
                    for try await part in inbound {
                        switch part {
                        case .head(let head):
                            shutdown.setBusy(true)
                            requestHead = head
                            body.clear()
                            // A declared oversized body is refused before it is read.
                            if let length = head.headers.first(name: "Content-Length").flatMap(Int.init),
                                length > connector.maxPostSize
                            {
                                try await write(Self.tooLarge, for: head, keepAlive: false, to: outbound)
                                return
                            }
                        case .body(var chunk):
                            guard let head = requestHead else { continue }
                            guard body.readableBytes + chunk.readableBytes <= connector.maxPostSize else {
                                try await write(Self.tooLarge, for: head, keepAlive: false, to: outbound)
                                return
                            }
                            body.writeBuffer(&chunk)
                        case .end:
                            guard let head = requestHead else { continue }
                            requestHead = nil
                            let response = await respond(to: head, body: body)
                            let keepAlive = head.isKeepAlive && !shutdown.isClosing
                            try await write(response, for: head, keepAlive: keepAlive, to: outbound)
                            if !keepAlive || !shutdown.setBusy(false) { return }
                        }
                    }
                }
            } catch {
                logger.trace("connection ended", metadata: ["sm.error": "\(error)"])
            }
        } onGracefulShutdown: {
            if shutdown.beginClosing() { channel.close(promise: nil) }
        }
    }

    private static let tooLarge = HTTPResponse.text("payload too large\n", status: .payloadTooLarge)

    private func respond(to head: HTTPRequestHead, body: ByteBuffer) async -> HTTPResponse {
        let uri = Substring(head.uri)
        let queryStart = uri.firstIndex(of: "?")
        let path = queryStart.map { uri[..<$0] } ?? uri
        let query = queryStart.map { uri[uri.index(after: $0)...] }
        guard path.first == "/", let context = router.route(path) else {
            return .text("not found\n", status: .notFound)
        }
        return await context.sessions.respond(
            head: head,
            body: body,
            path: path,
            query: query,
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
        try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(response.body)), .end(nil)])
    }
}
