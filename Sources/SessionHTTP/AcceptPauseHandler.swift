import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Stops accepting for a moment when the process runs out of file descriptors (or the kernel of
/// socket memory), instead of spinning.
///
/// When `accept` fails with `EMFILE`, the pending connection stays in the backlog, the listening
/// socket stays readable, and NIO's server channel (which still considers its read pending) is woken
/// again at once: one core at 100 % doing nothing but failing `accept`, and every connection that
/// could close waits behind it. This handler turns reading off on the listening channel for
/// ``pause`` and then on again; connections already accepted are served meanwhile, and as soon as
/// some close, accepting resumes. The exhaustion is logged once, and again when accepting works.
final class AcceptPauseHandler: ChannelInboundHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    /// How long accepting pauses after a descriptor shortage.
    static let pause = TimeAmount.seconds(1)

    private let logger: Logger
    private var exhausted = false
    private var paused = false

    init(logger: Logger) {
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if exhausted {
            exhausted = false
            logger.notice("accepting connections again")
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let ioError = error as? IOError, Self.isResourceShortage(ioError.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        if !exhausted {
            exhausted = true
            logger.warning(
                "cannot accept connections: out of file descriptors or socket memory; pausing accept, retrying every second",
                metadata: ["sm.error": "\(ioError)"]
            )
        }
        guard !paused, let options = context.channel.syncOptions else { return }
        paused = true
        try? options.setOption(.autoRead, value: false)
        let channel = context.channel
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.pause) { [self] in
            self.paused = false
            try? channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }

    private static func isResourceShortage(_ code: CInt) -> Bool {
        code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM
    }
}
