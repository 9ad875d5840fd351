import Foundation
import NIOCore
import NIOEmbedded
import SessionStoreNIO
import SessionTesting
import Testing

@testable import MemcachedSessionStore

@Suite(.capturedLog) struct MemcachedResponseDecoderTests {
    /// Several replies in one stream, one of each kind, with a value containing CRLF and "END".
    static let stream: [UInt8] = Array(
        "VALUE sm:a 0 12\r\nEND\r\n\r\nEND\r\n\r\nEND\r\nEND\r\nEND\r\nSTORED\r\nNOT_STORED\r\nDELETED\r\nNOT_FOUND\r\nTOUCHED\r\nERROR\r\nCLIENT_ERROR bad data chunk\r\nSERVER_ERROR object too large for cache\r\nVALUE k 0 0\r\n\r\nEND\r\nHD c1234567890123\r\nNS\r\nEX\r\nNF\r\nHD\r\n"
            .utf8)
    static let expected: [MemcachedResponse] = [
        .value(Array("END\r\n\r\nEND\r\n".utf8)), .miss, .miss, .stored, .notStored, .deleted, .notFound, .touched,
        .error(kind: .error, message: "unknown command"), .error(kind: .client, message: "bad data chunk"),
        .error(kind: .server, message: "object too large for cache"), .value([]),
        .meta(code: "HD", cas: 1_234_567_890_123), .meta(code: "NS", cas: nil), .meta(code: "EX", cas: nil),
        .meta(code: "NF", cas: nil), .meta(code: "HD", cas: nil),
    ]

    func decode(_ chunks: [[UInt8]]) throws -> [MemcachedResponse] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(MemcachedResponseDecoder()))
        for chunk in chunks { try channel.writeInbound(ByteBuffer(bytes: chunk)) }
        var responses: [MemcachedResponse] = []
        while let response = try channel.readInbound(as: MemcachedResponse.self) { responses.append(response) }
        _ = try channel.finish()
        return responses
    }

    @Test func aStreamOfRepliesInOneRead() throws {
        #expect(try decode([Self.stream]) == Self.expected)
    }

    @Test func splitAtEveryByteBoundaryDecodesTheSame() throws {
        for cut in 0...Self.stream.count {
            let chunks = [Array(Self.stream[..<cut]), Array(Self.stream[cut...])]
            #expect(try decode(chunks) == Self.expected, "split at \(cut)")
        }
    }

    @Test func oneByteAtATime() throws {
        #expect(try decode(Self.stream.map { [$0] }) == Self.expected)
    }

    @Test func malformedRepliesAreProtocolErrors() {
        let bad = [
            "HELLO\r\n", "HX\r\n", "HDx\r\n", "VALUE k 0 abc\r\n", "VALUE k 0 3\r\nabcXX\r\nEND\r\n", "VALUE k\r\n", "VALUE k 0 3 7 9\r\n", "VALUE k 0 -3\r\n",
            String(repeating: "x", count: 4096),
        ]
        for text in bad {
            var buffer = ByteBuffer(string: text)
            #expect(throws: StoreClientError.self, "\(text.prefix(20))") { _ = try MemcachedResponseDecoder.parse(&buffer) }
        }
    }

    /// Fields may be separated by several spaces, and `gets`-style replies carry a fifth (cas).
    @Test func valueLinesWithExtraSpacesOrACasField() throws {
        for text in ["VALUE  k   0 3\r\nabc\r\nEND\r\n", "VALUE k 0 3 12345\r\nabc\r\nEND\r\n"] {
            var buffer = ByteBuffer(string: text)
            #expect(try MemcachedResponseDecoder.parse(&buffer) == .value(Array("abc".utf8)), "\(text)")
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test func incompleteValueConsumesNothing() throws {
        var buffer = ByteBuffer(string: "VALUE k 0 10\r\n12345")
        #expect(try MemcachedResponseDecoder.parse(&buffer) == nil)
        #expect(buffer.readableBytes == 19)
    }

    @Test func keysAreValidatedBeforeSending() {
        for key in ["", "has space", "tab\there", "new\nline", String(repeating: "k", count: 251), "del\u{7F}"] {
            #expect(throws: StoreClientError(.invalidKey, "")) { try MemcachedCommand.validate(key) }
        }
        #expect(throws: Never.self) { try MemcachedCommand.validate(String(repeating: "k", count: 250)) }
    }

    @Test func expirationsAboveThirtyDaysAreAbsolute() {
        #expect(MemcachedCommand.expiration(.seconds(1800)) == 1800)
        #expect(MemcachedCommand.expiration(.milliseconds(1)) == 1, "0 would mean never")
        #expect(MemcachedCommand.expiration(.milliseconds(1500)) == 2)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(MemcachedCommand.expiration(.seconds(2_592_000), now: now) == 2_592_000)
        #expect(MemcachedCommand.expiration(.seconds(2_592_001), now: now) == 1_800_000_000 + 2_592_001)
    }
}
