import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// One raw connection speaking memcached's text protocol, for comparing replies byte for byte:
/// sends a command and reads until its reply is whole.
enum ProtocolConnection {
    /// Connects to `127.0.0.1:port` (over TLS trusting `caFile` when one is given), sends the
    /// commands one at a time and returns their whole replies. `{cas}` in a command is the last
    /// CAS value a reply gave (`c<number>`).
    static func exchange(_ commands: [String], port: Int, caFile: String? = nil) async throws -> [String] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let caFile {
                        var tls = TLSConfiguration.makeClientConfiguration()
                        tls.trustRoots = .file(caFile)
                        let context = try NIOSSLContext(configuration: tls)
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var chunks = inbound.makeAsyncIterator()
            var replies: [String] = []
            var cas = ""
            for command in commands {
                try await outbound.write(ByteBuffer(string: command.replacingOccurrences(of: "{cas}", with: cas)))
                var reply = ""
                while !isWhole(reply) {
                    guard let chunk = try await chunks.next() else { break }
                    reply += String(buffer: chunk)
                }
                if let found = reply.firstMatch(of: /\sc([1-9]\d*)/) { cas = String(found.1) }
                replies.append(reply)
            }
            return replies
        }
    }

    /// Whether `reply` is one whole reply: `VALUE`s up to `END`, `VA <n>` with its data, else a
    /// line.
    static func isWhole(_ reply: String) -> Bool {
        guard reply.hasSuffix("\r\n") else { return false }
        if reply.hasPrefix("VALUE ") { return reply.hasSuffix("END\r\n") }
        if reply.hasPrefix("VA "), let count = reply.dropFirst(3).split(separator: " ").first.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
            guard let header = reply.range(of: "\r\n") else { return false }
            return reply.utf8.count >= reply[..<header.upperBound].utf8.count + count + 2
        }
        return true
    }

    /// `reply` with what differs between two correct servers made uniform: CAS values (`c#`; a
    /// refusal's `c0` stays)
    /// and the texts of `CLIENT_ERROR`.
    static func shape(_ reply: String) -> String {
        let cas = reply.replacing(/\sc[1-9]\d*/, with: " c#")
        return cas.hasPrefix("CLIENT_ERROR") ? "CLIENT_ERROR #\r\n" : cas
    }
}
