import Foundation
import NIOCore

/// A test-client failure.
public struct ClientError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Accumulates bytes from the connection and cuts complete responses out of them.
final class ResponseReader {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var buffer: [UInt8] = []
    private var eof = false

    init(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>) {
        iterator = inbound.makeAsyncIterator()
    }

    private func fill() async throws -> Bool {
        guard !eof else { return false }
        let chunk = try await iterator.next(isolation: #isolation)
        guard let chunk else {
            eof = true
            return false
        }
        buffer.append(contentsOf: chunk.readableBytesView)
        return true
    }

    /// `true` when the server closed the connection with nothing more to read. A reset counts:
    /// a server that closes while the client is still sending makes the kernel answer the next
    /// bytes with RST, which the client reads as `ECONNRESET` instead of an end of file.
    func isAtEOF() async throws -> Bool {
        while buffer.isEmpty {
            do {
                if try await !fill() { return true }
            } catch let error as IOError where error.errnoCode == ECONNRESET {
                return true
            }
        }
        return false
    }

    func next(headOnly: Bool = false) async throws -> RawHTTPClient.Response {
        while true {
            if let response = try parse(headOnly: headOnly) { return response }
            guard try await fill() else { throw ClientError("connection closed before a complete response") }
        }
    }

    private func parse(headOnly: Bool) throws -> RawHTTPClient.Response? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let headEnd = buffer.firstRange(of: separator) else { return nil }
        let headText = String(decoding: buffer[..<headEnd.lowerBound], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw ClientError("bad status line") }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let length = headOnly ? 0 : headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) } ?? 0
        let bodyStart = headEnd.upperBound
        guard buffer.count >= bodyStart + length else { return nil }
        let body = Array(buffer[bodyStart..<bodyStart + length])
        buffer.removeFirst(bodyStart + length)
        return RawHTTPClient.Response(
            status: status,
            headers: headers.map { (name: $0.0, value: $0.1) },
            body: String(decoding: body, as: UTF8.self),
            bodyBytes: body
        )
    }
}
