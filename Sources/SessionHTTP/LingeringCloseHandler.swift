import NIOCore

/// Closes a connection after a final answer without destroying that answer.
///
/// Closing a TCP socket that still has unread input makes the kernel send a reset, and a reset
/// can reach the client before it read the answer (a `413` for an upload in progress, a `501`
/// for `CONNECT` followed by tunnel bytes): the client then sees "connection reset" instead of the
/// reason. So the output is closed first (the client reads the answer, then end of stream), and
/// whatever the client still sends is read and dropped, without parsing or buffering, until it
/// closes its side, ``maxBytes`` were dropped, or ``timeout`` passed.
final class LingeringCloseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    /// How long a closing connection is drained at most.
    static let timeout = TimeAmount.seconds(2)
    /// How many bytes a closing connection may still send.
    static let maxBytes = 1 << 20

    private var dropped = 0

    /// Half-closes `channel` and drains it (installs this handler in front of the codec).
    static func close(_ context: ChannelHandlerContext) {
        let channel = context.channel
        do {
            try context.pipeline.syncOperations.addHandler(LingeringCloseHandler(), position: .first)
        } catch {
            context.close(promise: nil)
            return
        }
        let halfClosed = context.eventLoop.makePromise(of: Void.self)
        halfClosed.futureResult.whenFailure { _ in channel.close(promise: nil) }
        context.close(mode: .output, promise: halfClosed)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.timeout) { channel.close(promise: nil) }
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        dropped += unwrapInboundIn(data).readableBytes
        if dropped > Self.maxBytes { context.close(promise: nil) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Keep reading whatever the handlers behind (paused for back pressure) asked for.
        context.read()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
