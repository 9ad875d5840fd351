import NIOCore
import SessionStoreNIO

/// Streams memcached text-protocol replies out of the bytes of a connection: a reply may arrive
/// split across reads at any byte, and one read may carry several replies.
///
/// Limits protect the client from a broken or hostile server: a status line longer than
/// ``maximumLineLength`` or a value longer than ``maximumValueLength`` is a protocol error (the
/// connection is closed) instead of unbounded buffering.
public struct MemcachedResponseDecoder: ByteToMessageDecoder {
    public typealias InboundOut = MemcachedResponse

    /// Longest status line accepted, CRLF included.
    public static let maximumLineLength = 2048
    /// Largest value accepted (memcached's own item size limit is at most 1 GiB; sessions are far smaller).
    public static let maximumValueLength = 128 << 20

    /// Creates the decoder.
    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let response = try Self.parse(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(response))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    /// Reads one whole reply from the front of `buffer`, or nothing (and consumes nothing) when it is
    /// not complete yet. Pure, so it can be tested on any split of the input.
    public static func parse(_ buffer: inout ByteBuffer) throws -> MemcachedResponse? {
        let view = buffer.readableBytesView
        guard let lineEnd = crlf(in: view) else {
            if view.count >= maximumLineLength { throw StoreClientError(.protocolError, "memcached reply line too long") }
            return nil
        }
        let line = view[view.startIndex..<lineEnd]
        let lineLength = line.count + 2
        if line.starts(with: Self.valuePrefix) {
            let fields = line.split(separator: UInt8(ascii: " "))
            guard fields.count == 4 || fields.count == 5, let length = Int(decimal: fields[3]), length <= maximumValueLength else {
                throw StoreClientError(.protocolError, "malformed VALUE line")
            }
            let total = lineLength + length + 2 + 5  // data, CRLF, "END\r\n"
            guard view.count >= total else { return nil }
            let dataStart = view.startIndex + lineLength
            let trailer = view[(dataStart + length)..<(view.startIndex + total)]
            guard trailer.elementsEqual(Self.dataTrailer) else {
                throw StoreClientError(.protocolError, "VALUE not followed by its data and END")
            }
            buffer.moveReaderIndex(forwardBy: lineLength)
            let data = buffer.readBytes(length: length) ?? []
            buffer.moveReaderIndex(forwardBy: 7)
            return .value(data)
        }
        let response: MemcachedResponse
        switch Array(line) {
        case Self.end: response = .miss
        case Self.storedLine: response = .stored
        case Self.notStoredLine: response = .notStored
        case Self.deletedLine: response = .deleted
        case Self.notFoundLine: response = .notFound
        case Self.touchedLine: response = .touched
        case Self.errorLine: response = .error(kind: .error, message: "unknown command")
        default:
            if let message = suffix(of: line, after: Self.clientErrorPrefix) {
                response = .error(kind: .client, message: message)
            } else if let message = suffix(of: line, after: Self.serverErrorPrefix) {
                response = .error(kind: .server, message: message)
            } else {
                throw StoreClientError(.protocolError, "unexpected memcached reply '\(String(decoding: line.prefix(80), as: UTF8.self))'")
            }
        }
        buffer.moveReaderIndex(forwardBy: lineLength)
        return response
    }

    private static let valuePrefix = Array("VALUE ".utf8)
    private static let dataTrailer = Array("\r\nEND\r\n".utf8)
    private static let end = Array("END".utf8)
    private static let storedLine = Array("STORED".utf8)
    private static let notStoredLine = Array("NOT_STORED".utf8)
    private static let deletedLine = Array("DELETED".utf8)
    private static let notFoundLine = Array("NOT_FOUND".utf8)
    private static let touchedLine = Array("TOUCHED".utf8)
    private static let errorLine = Array("ERROR".utf8)
    private static let clientErrorPrefix = Array("CLIENT_ERROR".utf8)
    private static let serverErrorPrefix = Array("SERVER_ERROR".utf8)

    private static func crlf(in view: ByteBufferView) -> ByteBufferView.Index? {
        var index = view.startIndex
        while let cr = view[index...].firstIndex(of: 0x0D) {
            let next = view.index(after: cr)
            guard next < view.endIndex else { return nil }
            if view[next] == 0x0A { return cr }
            index = next
        }
        return nil
    }

    private static func suffix(of line: ByteBufferView.SubSequence, after prefix: [UInt8]) -> String? {
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
