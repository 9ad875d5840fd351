import Foundation
import NIOCore
import NIOSSL

/// Why a TLS connection to a store node failed, in words an operator can act on.
///
/// BoringSSL reports a refused certificate chain as `CERTIFICATE_VERIFY_FAILED` whatever the
/// cause; the connector then looks at the chain the server sent (``StoreTLSClient/inspectingHandler(host:inspect:)``)
/// to say whether it expired or was issued by a CA we do not trust.
package enum TLSFailure: Equatable, Sendable {
    /// BoringSSL refused the server's chain; ``diagnose(chain:now:trusting:)`` says why.
    case chainRefused
    /// The certificate does not name the server name checked.
    case wrongName(String)
    /// The server did not speak TLS (a plaintext port behind a TLS node).
    case notTLS
    /// The server requires a client certificate and none is configured.
    case clientCertificateRequired
    /// The server refused the client certificate.
    case clientCertificateRefused(String)
    /// The server closed the connection during the handshake.
    case closedDuringHandshake
    /// Anything else TLS said.
    case other(String)

    /// The TLS failure `error` is, or `nil` when it is not a TLS error.
    package init?(_ error: any Error) {
        if let extra = error as? NIOSSLExtraError {
            if extra == .failedToValidateHostname {
                self = .wrongName(String(describing: extra))
            } else {
                self = .other(String(describing: extra))
            }
            return
        }
        guard let tls = error as? NIOSSLError else {
            if let boring = error as? BoringSSLError { self = Self.classify(String(describing: boring)) } else { return nil }
            return
        }
        switch tls {
        case .handshakeFailed(let boring): self = Self.classify(String(describing: boring))
        case .uncleanShutdown: self = .closedDuringHandshake
        default: self = .other(String(describing: tls))
        }
    }

    private static func classify(_ text: String) -> TLSFailure {
        let upper = text.uppercased()
        if upper.contains("CERTIFICATE_VERIFY_FAILED") { return .chainRefused }
        if upper.contains("WRONG_VERSION_NUMBER") || upper.contains("PACKET_LENGTH_TOO_LONG") || upper.contains("HTTP_REQUEST")
            || upper.contains("RECORD_LENGTH_MISMATCH") || upper.contains("UNEXPECTED_RECORD")
        {
            return .notTLS
        }
        if upper.contains("CERTIFICATE_REQUIRED") { return .clientCertificateRequired }
        if upper.contains("ALERT_BAD_CERTIFICATE") || upper.contains("ALERT_UNKNOWN_CA") || upper.contains("ALERT_CERTIFICATE_UNKNOWN")
            || upper.contains("ALERT_DECRYPT_ERROR") || upper.contains("ALERT_CERTIFICATE_EXPIRED") || upper.contains("ALERT_HANDSHAKE_FAILURE")
        {
            return .clientCertificateRefused(text)
        }
        if upper.contains("EOF DURING HANDSHAKE") { return .closedDuringHandshake }
        return .other(text)
    }

    /// What to tell the operator (`tlsVerify`, `tlsServerName`, the files are named where they help).
    package var reason: String {
        switch self {
        case .chainRefused: "the server's certificate was refused"
        case .wrongName(let detail):
            "the server's certificate does not name the server (\(detail)); set tlsServerName to a name in the certificate, or tlsVerify=\"noHostname\""
        case .notTLS: "the server did not answer in TLS: is the port a plaintext one? (use redis:// or host:port for plaintext nodes)"
        case .clientCertificateRequired: "the server requires a client certificate: set tlsCertificateFile and tlsKeyFile"
        case .clientCertificateRefused(let detail): "the server refused our client certificate (\(detail))"
        case .closedDuringHandshake: "the server closed the connection during the TLS handshake"
        case .other(let detail): detail
        }
    }

    /// Why a chain BoringSSL refused was refused: a certificate out of its validity dates, or else
    /// an issuer we do not trust.
    package static func diagnose(chain: [NIOSSLCertificate], now: Date = Date(), trusting caFile: String?) -> String {
        let seconds = Int(now.timeIntervalSince1970)
        for (index, certificate) in chain.enumerated() {
            let which = index == 0 ? "the server's certificate" : "certificate \(index + 1) of the server's chain"
            if Int(certificate.notValidAfter) < seconds {
                return "\(which) expired on \(Self.date(certificate.notValidAfter))"
            }
            if Int(certificate.notValidBefore) > seconds {
                return "\(which) is not valid before \(Self.date(certificate.notValidBefore))"
            }
        }
        let trust = caFile.map { "the CA certificates of tlsCAFile '\($0)'" } ?? "the system's trusted CAs (set tlsCAFile to your CA)"
        return "the server's certificate is not issued by \(trust)"
    }

    private static func date(_ time: time_t) -> String {
        Date(timeIntervalSince1970: TimeInterval(time)).ISO8601Format()
    }
}
