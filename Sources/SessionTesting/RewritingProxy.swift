import NIOCore
import NIOPosix

/// A TCP proxy on a free loopback port in front of a real server, rewriting what clients send.
///
/// It lets a test put a real server in a state it cannot be configured into: for example a
/// memcached older than 1.5.3, which answers `gat` with `ERROR`, made from a current memcached by
/// renaming `gat` on the way in (the server itself then answers, so replies stay in order).
public final class RewritingProxy: Sendable {
    /// The port the proxy listens on (127.0.0.1).
    public let port: Int
    private let channel: any Channel

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    /// Starts a proxy to `127.0.0.1:targetPort`; `rewrite` sees each chunk a client sends (chunks
    /// follow TCP reads, so a test should rewrite only patterns that cannot straddle two reads).
    public static func start(
        to targetPort: Int,
        rewrite: @escaping @Sendable ([UInt8]) -> [UInt8]
    ) async throws -> RewritingProxy {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { inbound in
                ClientBootstrap(group: inbound.eventLoop)
                    .connect(host: "127.0.0.1", port: targetPort)
                    .flatMapThrowing { outbound in
                        try inbound.pipeline.syncOperations.addHandler(ForwardingHandler(peer: outbound, rewrite: rewrite))
                        try outbound.pipeline.syncOperations.addHandler(ForwardingHandler(peer: inbound, rewrite: nil))
                    }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        guard let port = channel.localAddress?.port else { throw ClientError("no local port") }
        return RewritingProxy(port: port, channel: channel)
    }

    /// Stops listening (open connections end when either side closes).
    public func close() async {
        try? await channel.close()
    }
}

/// Copies what one side reads to the other side, closing the other side when this one closes.
private final class ForwardingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let peer: any Channel
    private let rewrite: (@Sendable ([UInt8]) -> [UInt8])?

    init(peer: any Channel, rewrite: (@Sendable ([UInt8]) -> [UInt8])?) {
        self.peer = peer
        self.rewrite = rewrite
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        peer.writeAndFlush(ByteBuffer(bytes: rewrite?(bytes) ?? bytes), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer.close(promise: nil)
        context.fireChannelInactive()
    }
}
