import NIOCore
import NIOTLS
import Synchronization

/// Notes that a connection's TLS handshake completed, for the connector's error: a probe that
/// timed out before the handshake ended met a server that does not speak TLS and waits for more
/// (a plaintext Redis reads a ClientHello as the start of a command), which deserves that name
/// rather than "no reply".
final class TLSHandshakeWatch: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    private let completed = Atomic<Bool>(false)

    /// Whether the handshake completed.
    var isComplete: Bool { completed.load(ordering: .relaxed) }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent { completed.store(true, ordering: .relaxed) }
        context.fireUserInboundEventTriggered(event)
    }
}
