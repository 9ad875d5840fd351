import NIOCore
import NIOPosix
import NIOSSL
import SessionManager
import Synchronization

/// Opens one connection to a store server, for both protocols: TCP with no delay, TLS first in
/// the pipeline when the node asks for it, the protocol's decoder and the ``PipelineHandler``;
/// then the protocol's handshake (login, database, a probe command).
///
/// The probe matters under TLS: with TLS 1.3 a server that refuses the client's certificate says
/// so only after the client's side of the handshake is done, in reply to the first bytes sent.
/// Until the probe is answered the connection does not count as open, so that refusal, a server
/// that does not speak TLS, or a TLS server behind a plaintext node, is a connect failure with its
/// reason (see ``TLSFailure``), bounded by the connect timeout, and never a plaintext fallback.
package struct StoreConnector: Sendable {
    /// The server.
    package let host: String
    package let port: Int
    /// TLS, or `nil` for plaintext.
    package let tls: StoreTLSClient?
    /// How the node is named in errors (`Redis at host:port`).
    package let name: String
    /// The command the handshake probes with, for errors (`PING`, `version`).
    package let probe: String

    package init(host: String, port: Int, tls: StoreTLSClient?, name: String, probe: String) {
        self.host = host
        self.port = port
        self.tls = tls
        self.name = name
        self.probe = probe
    }

    /// Opens the connection, adds `decoder` before the pipeline handler, and runs `handshake` on
    /// it before returning it.
    /// - Throws: ``StoreClientError``: `connectFailed` (with the TLS reason where TLS failed),
    ///   `tlsConfiguration`, or what `handshake` throws (`authenticationFailed`, `serverError`).
    package func open<Reply: Sendable>(
        on eventLoop: any EventLoop,
        timeout: Duration,
        decoder: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void,
        handshake: (StoreConnection<Reply>) async throws -> Void
    ) async throws -> StoreConnection<Reply> {
        let connection: StoreConnection<Reply>
        let watch = tls.map { _ in TLSHandshakeWatch() }
        do {
            connection = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(TimeAmount(timeout))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port) { [tls, host] channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls, let watch {
                            try channel.pipeline.syncOperations.addHandler(try tls.handler(host: host))
                            try channel.pipeline.syncOperations.addHandler(watch)
                        }
                        try decoder(channel.pipeline.syncOperations)
                        let handler = PipelineHandler<Reply>(joinsWrites: tls != nil)
                        try channel.pipeline.syncOperations.addHandler(handler)
                        return StoreConnection(channel: channel, handler: handler)
                    }
                }
        } catch let error as StoreClientError {
            throw error
        } catch {
            throw StoreClientError(.connectFailed, "cannot connect to \(name): \(error)", underlying: error)
        }
        do {
            try await handshake(connection)
            return connection
        } catch {
            try? await connection.channel.close()
            throw await explain(error, handshakeComplete: watch?.isComplete ?? false, on: eventLoop, timeout: timeout)
        }
    }

    /// The handshake's failure, with the TLS reason where TLS failed.
    private func explain(_ error: any Error, handshakeComplete: Bool, on eventLoop: any EventLoop, timeout: Duration) async -> any Error {
        let clientError = error as? StoreClientError
        if tls != nil, !handshakeComplete, clientError?.code == .timeout {
            return StoreClientError(.connectFailed, "TLS handshake with \(name) failed: \(TLSFailure.notTLS.reason)", underlying: error)
        }
        if let tls, let failure = TLSFailure(clientError?.underlying ?? error) {
            var reason = failure.reason
            if failure == .chainRefused, let chain = await chain(tls, on: eventLoop, timeout: timeout) {
                reason = TLSFailure.diagnose(chain: chain, trusting: tls.settings.caFile)
            }
            return StoreClientError(.connectFailed, "TLS handshake with \(name) failed: \(reason)", underlying: error)
        }
        guard let clientError else { return StoreClientError(.connectFailed, "cannot connect to \(name): \(error)", underlying: error) }
        switch clientError.code {
        case .connectionClosed where tls == nil:
            return StoreClientError(
                .connectFailed,
                "\(name) closed the connection before answering \(probe): is it a TLS port? (give TLS nodes as rediss://… or memcacheds://…)",
                underlying: error
            )
        case .connectionClosed, .timeout, .protocolError:
            return StoreClientError(.connectFailed, "\(name) did not answer \(probe): \(clientError.message)", underlying: error)
        default:
            return clientError
        }
    }

    /// The certificates the server sends, from a second handshake that only looks at them: the
    /// diagnosis of a refused chain. `nil` if none arrived within `timeout`.
    private func chain(_ tls: StoreTLSClient, on eventLoop: any EventLoop, timeout: Duration) async -> [NIOSSLCertificate]? {
        let seen = Mutex<[NIOSSLCertificate]?>(nil)
        do {
            let channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(TimeAmount(timeout))
                .connect(host: host, port: port) { [host] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            try tls.inspectingHandler(host: host) { certificates in seen.withLock { $0 = certificates } }
                        )
                        return channel
                    }
                }
            let deadline = eventLoop.scheduleTask(in: TimeAmount(timeout)) { channel.close(promise: nil) }
            try? await channel.closeFuture.get()
            deadline.cancel()
        } catch {
            return nil
        }
        return seen.withLock { $0 }
    }
}
