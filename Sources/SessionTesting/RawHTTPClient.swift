import NIOCore
import NIOPosix

/// A minimal HTTP/1.1 client for tests: sends exactly the bytes it is given, so tests can send
/// malformed, pipelined or oversized requests, and parses the responses that come back.
///
/// One client is one TCP connection. Not for production use.
public final class RawHTTPClient {
    /// A parsed response.
    public struct Response: Sendable {
        /// Status code.
        public var status: Int
        /// Header fields in order, names as sent.
        public var headers: [(name: String, value: String)]
        /// Body bytes as text (lossy UTF-8).
        public var body: String
        /// Body bytes.
        public var bodyBytes: [UInt8]

        /// All values of a header, case-insensitive name.
        public func values(_ name: String) -> [String] {
            headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
        }

        /// The first value of a header.
        public func value(_ name: String) -> String? { values(name).first }

        /// The `name=value` pair of the first `Set-Cookie`, ready for a `Cookie` header.
        public var cookiePair: String? {
            value("Set-Cookie").map { String($0.prefix { $0 != ";" }) }
        }

        /// `key=value` lines of a plain-text body (the sample's format).
        public var fields: [String: String] {
            var fields: [String: String] = [:]
            for line in body.split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
            }
            return fields
        }
    }

    private let reader: ResponseReader
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

    private init(inbound: NIOAsyncChannelInboundStream<ByteBuffer>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.reader = ResponseReader(inbound)
        self.outbound = outbound
    }

    /// Connects to `host:port`, runs `body`, closes.
    public static func withConnection<R: Sendable>(
        host: String = "127.0.0.1",
        port: Int,
        _ body: (RawHTTPClient) async throws -> R
    ) async throws -> R {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(RawHTTPClient(inbound: inbound, outbound: outbound))
        }
    }

    /// Sends raw bytes.
    public func send(_ bytes: String) async throws {
        try await outbound.write(ByteBuffer(string: bytes))
    }

    /// Sends raw bytes.
    public func send(bytes: [UInt8]) async throws {
        try await outbound.write(ByteBuffer(bytes: bytes))
    }

    /// Reads the next complete response (HEAD-style bodiless responses are not supported).
    public func readResponse() async throws -> Response {
        try await reader.next()
    }

    /// Reads the next response head only, leaving any body unread (for answers to `HEAD`).
    public func readHeadOnly() async throws -> Response {
        try await reader.next(headOnly: true)
    }

    /// `true` once the server has closed the connection and no unread bytes are left.
    public func isClosedByServer() async throws -> Bool {
        try await reader.isAtEOF()
    }

    /// Sends a GET with optional extra header lines and reads its response.
    public func get(_ path: String, headers: [(String, String)] = []) async throws -> Response {
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        try await send(request)
        return try await readResponse()
    }

    /// One GET on a fresh connection.
    public static func get(port: Int, _ path: String, headers: [(String, String)] = []) async throws -> Response {
        try await withConnection(port: port) { try await $0.get(path, headers: headers) }
    }
}
