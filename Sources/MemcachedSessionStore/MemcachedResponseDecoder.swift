import NIOCore
import SessionStoreNIO

/// Streams memcached text-protocol replies out of the bytes of a connection: a reply may arrive
/// split across reads at any byte, and one read may carry several replies.
///
/// Limits protect the client from a broken or hostile server: a status line longer than
/// ``maximumLineLength`` or a value longer than ``maximumValueLength`` is a protocol error (the
/// connection is closed) instead of unbounded buffering.
package struct MemcachedResponseDecoder: ByteToMessageDecoder {
    package typealias InboundOut = MemcachedResponse

    /// Longest status line accepted, CRLF included.
    package static let maximumLineLength = 2048
    /// Largest value accepted (memcached's own item size limit is at most 1 GiB; sessions are far smaller).
    package static let maximumValueLength = 128 << 20

    /// Creates the decoder.
    package init() {}

    package mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let response = try Self.parse(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(response))
        return .continue
    }

    package mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    /// Reads one whole reply from the front of `buffer`, or nothing (and consumes nothing) when it is
    /// not complete yet. Pure, so it can be tested on any split of the input.
    ///
    /// The reply is recognised on the raw bytes, with no array, split or string made on the way
    /// (each of those showed in a profile of a read-only request, about 4 µs together); only the
    /// value is copied out.
    package static func parse(_ buffer: inout ByteBuffer) throws -> MemcachedResponse? {
        guard let head = try buffer.withUnsafeReadableBytes({ try Self.head(of: $0) }) else { return nil }
        switch head {
        case .value(let lineLength, let length):
            buffer.moveReaderIndex(forwardBy: lineLength)
            let data = buffer.readBytes(length: length) ?? []
            buffer.moveReaderIndex(forwardBy: dataTrailer.count)  // the CRLF after the data, then "END\r\n"
            return .value(data)
        case .metaValue(let lineLength, let length, let cas):
            buffer.moveReaderIndex(forwardBy: lineLength)
            let data = buffer.readBytes(length: length) ?? []
            buffer.moveReaderIndex(forwardBy: 2)
            return .metaValue(data, cas: cas)
        case .line(let response, let lineLength):
            buffer.moveReaderIndex(forwardBy: lineLength)
            return response
        }
    }

    /// What the front of the input holds, once it is complete.
    private enum Head {
        /// A hit: the `VALUE` line's length (CRLF included) and the data's.
        case value(lineLength: Int, length: Int)
        /// A meta hit (`VA`): its line's length, the data's and the CAS value.
        case metaValue(lineLength: Int, length: Int, cas: UInt64?)
        /// A one-line reply and the line's length (CRLF included).
        case line(MemcachedResponse, lineLength: Int)
    }

    private static func head(of bytes: UnsafeRawBufferPointer) throws -> Head? {
        guard let lineEnd = crlf(in: bytes) else {
            if bytes.count >= maximumLineLength { throw StoreClientError(.protocolError, "memcached reply line too long") }
            return nil
        }
        let line = UnsafeRawBufferPointer(rebasing: bytes[..<lineEnd])
        let lineLength = lineEnd + 2
        if line.starts(with: valuePrefix) {
            guard let length = valueLength(line), length <= maximumValueLength else {
                throw StoreClientError(.protocolError, "malformed VALUE line")
            }
            let total = lineLength + length + dataTrailer.count  // data, CRLF, "END\r\n"
            guard bytes.count >= total else { return nil }
            guard bytes[(lineLength + length)..<total].elementsEqual(dataTrailer) else {
                throw StoreClientError(.protocolError, "VALUE not followed by its data and END")
            }
            return .value(lineLength: lineLength, length: length)
        }
        if line.starts(with: metaValuePrefix) {
            let flags = line.dropFirst(3)
            guard let first = flags.split(separator: UInt8(ascii: " ")).first, let length = Int(String(decoding: first, as: UTF8.self)), length >= 0,
                  length <= maximumValueLength
            else {
                throw StoreClientError(.protocolError, "malformed VA line")
            }
            let cas = cas(in: flags)
            let total = lineLength + length + 2
            guard bytes.count >= total else { return nil }
            guard bytes[total - 2] == UInt8(ascii: "\r"), bytes[total - 1] == UInt8(ascii: "\n") else {
                throw StoreClientError(.protocolError, "VA not followed by its data and CRLF")
            }
            return .metaValue(lineLength: lineLength, length: length, cas: cas)
        }
        let response: MemcachedResponse
        if let whole = wholeLines.first(where: { line.elementsEqual($0.line) }) {
            response = whole.response
        } else if let meta = meta(line) {
            response = meta
        } else if let version = suffix(of: line, after: versionPrefix) {
            response = .version(version)
        } else if let message = suffix(of: line, after: clientErrorPrefix) {
            response = .error(kind: .client, message: message)
        } else if let message = suffix(of: line, after: serverErrorPrefix) {
            response = .error(kind: .server, message: message)
        } else {
            throw StoreClientError(.protocolError, "unexpected memcached reply '\(String(decoding: line.prefix(80), as: UTF8.self))'")
        }
        return .line(response, lineLength: lineLength)
    }

    /// The `<bytes>` field of `VALUE <key> <flags> <bytes> [<cas>]` (fields separated by one or
    /// more spaces); `nil` unless the line has four or five fields and that one is a decimal.
    private static func valueLength(_ line: UnsafeRawBufferPointer) -> Int? {
        var fields = 0
        var lengthField: Range<Int>?
        var index = 0
        while index < line.count {
            if line[index] == UInt8(ascii: " ") {
                index += 1
                continue
            }
            let start = index
            while index < line.count, line[index] != UInt8(ascii: " ") { index += 1 }
            if fields == 3 { lengthField = start..<index }
            fields += 1
            if fields > 5 { return nil }
        }
        guard fields >= 4, let lengthField else { return nil }
        return Int(decimal: UnsafeRawBufferPointer(rebasing: line[lengthField]))
    }

    private static let valuePrefix = Array("VALUE ".utf8)
    private static let metaValuePrefix = Array("VA ".utf8)
    private static let dataTrailer = Array("\r\nEND\r\n".utf8)
    /// The replies that are one fixed line, most frequent first (`STORED` answers every write).
    private static let wholeLines: [(line: [UInt8], response: MemcachedResponse)] = [
        (Array("STORED".utf8), .stored), (Array("END".utf8), .miss), (Array("TOUCHED".utf8), .touched),
        (Array("DELETED".utf8), .deleted), (Array("NOT_FOUND".utf8), .notFound), (Array("NOT_STORED".utf8), .notStored),
        (Array("ERROR".utf8), .error(kind: .error, message: "unknown command")),
    ]
    /// The meta-protocol codes the lock commands get back.
    private static let metaCodes: Set<String> = ["HD", "NS", "EX", "NF", "EN"]

    /// A meta reply line: `<code>[ <flag>…]`, with the CAS value of a `c<number>` flag.
    private static func meta(_ line: UnsafeRawBufferPointer) -> MemcachedResponse? {
        guard line.count >= 2, line.count == 2 || line[2] == UInt8(ascii: " ") else { return nil }
        let code = String(decoding: line.prefix(2), as: UTF8.self)
        guard metaCodes.contains(code) else { return nil }
        return .meta(code: code, cas: cas(in: line.dropFirst(2)))
    }

    /// The CAS value of a meta reply's `c<number>` flag, among its space-separated `flags`.
    private static func cas(in flags: Slice<UnsafeRawBufferPointer>) -> UInt64? {
        var cas: UInt64?
        for flag in flags.split(separator: UInt8(ascii: " ")) where flag.first == UInt8(ascii: "c") {
            cas = UInt64(String(decoding: flag.dropFirst(), as: UTF8.self))
        }
        return cas
    }

    private static let clientErrorPrefix = Array("CLIENT_ERROR".utf8)
    private static let versionPrefix = Array("VERSION ".utf8)
    private static let serverErrorPrefix = Array("SERVER_ERROR".utf8)

    /// Where the first CRLF starts.
    private static func crlf(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 2 else { return nil }
        for index in 0..<(bytes.count - 1) where bytes[index] == 0x0D && bytes[index + 1] == 0x0A {
            return index
        }
        return nil
    }

    private static func suffix(of line: UnsafeRawBufferPointer, after prefix: [UInt8]) -> String? {
        guard line.starts(with: prefix) else { return nil }
        let rest = line.dropFirst(prefix.count)
        return String(decoding: rest.drop { $0 == UInt8(ascii: " ") }, as: UTF8.self)
    }
}

extension Int {
    /// A non-negative decimal of at most 18 digits.
    init?(decimal digits: some Collection<UInt8>) {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(digit - UInt8(ascii: "0"))
        }
        self = value
    }
}
