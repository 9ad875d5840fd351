/// msm's `storageKeyPrefix`: what is prepended to every store key of a context, so several
/// applications (or several hosts) can share one store without reading each other's sessions.
///
/// The value is a comma-separated list of tokens, each giving one part; empty parts are dropped,
/// the rest joined with `:` and followed by `_` (msm's `StorageKeyFormat`):
/// `static:<text>` · `host` (the engine's `defaultHost`) · `host.hash` · `context` (the context
/// path, `""` for the root) · `context.hash` · `webappVersion` (parallel deployment, which this
/// server does not have: always empty). A `.hash` is the first 8 hex digits of the SHA-256 of the
/// name. Example: `host,context` for host `www.example.com` and context `/my-app` gives
/// `www.example.com:/my-app_`. Keys are routed by the node id of the session id, never by
/// re-parsing a key, so a prefix may contain `-` and `.` (msm #350).
public enum StorageKeyPrefix {
    /// Builds the prefix for `text`.
    /// - Throws: ``SessionManagerError`` with `.invalidConfiguration` naming an unknown token.
    public static func make(_ text: String, host: String, context: String) throws -> String {
        var parts: [String] = []
        for token in text.split(separator: ",", omittingEmptySubsequences: false).map({ String($0).trimmingASCIISpaces() }) {
            let part: String
            switch token {
            case "host": part = host
            case "host.hash": part = hash(host)
            case "context": part = context
            case "context.hash": part = hash(context)
            case "webappVersion": part = ""
            case _ where token.hasPrefix("static:"):
                part = String(token.dropFirst("static:".count))
                guard !part.contains(":") else {
                    throw SessionManagerError(.invalidConfiguration, "'\(token)': a static prefix cannot contain ':'")
                }
            default:
                throw SessionManagerError(
                    .invalidConfiguration,
                    "unknown token '\(token)'; expected a comma-separated list of static:<text>, host, host.hash, context, context.hash, webappVersion"
                )
            }
            guard part.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw SessionManagerError(.invalidConfiguration, "'\(token)' gives '\(part)', which has spaces or non-ASCII characters")
            }
            if !part.isEmpty { parts.append(part) }
        }
        return parts.isEmpty ? "" : parts.joined(separator: ":") + "_"
    }

    /// msm's `.hash`: the first 8 lower-case hex digits of SHA-256 of the UTF-8 text.
    static func hash(_ text: String) -> String {
        SHA256.digest(Array(text.utf8)).prefix(4).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

extension String {
    fileprivate func trimmingASCIISpaces() -> String {
        var scalars = Substring(self)
        while scalars.first == " " { scalars.removeFirst() }
        while scalars.last == " " { scalars.removeLast() }
        return String(scalars)
    }
}
