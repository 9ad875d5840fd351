import Foundation

/// The default transcoder: a compact, versioned binary format, without Foundation encoders.
///
/// Format, version 1 (all multi-byte integers little-endian):
///
/// ```
/// blob      = magic "SMB" (53 4D 42), version (01),
///             id: string, creationTime: float64, lastAccessedTime: float64,
///             maxInactiveInterval: zigzag varint (seconds),
///             attribute count: varint, then count × (name: string, value)   -- names sorted
/// string    = byte length: varint, UTF-8 bytes
/// float64   = 8 bytes, IEEE 754 bit pattern (dates: seconds since 2001-01-01, exact)
/// value     = tag byte, payload:
///             00 null | 01 false | 02 true | 03 int: zigzag varint | 04 double: float64
///             05 string | 06 bytes: varint length + raw | 07 date: float64
///             08 array: varint count + values | 09 map: varint count + (string, value)…, keys sorted
/// varint    = unsigned LEB128, at most 10 bytes
/// ```
///
/// Keys are sorted so that equal sessions give equal bytes. The decoder checks every length
/// against the bytes that remain before allocating, limits nesting to ``maximumDepth``, and
/// validates UTF-8, so hostile input costs time and memory proportional to its own size.
public struct BinarySessionTranscoder: SessionTranscoder {
    /// The first bytes of every blob of this format.
    public static let magic: [UInt8] = [0x53, 0x4D, 0x42]
    /// The format version written.
    public static let version: UInt8 = 1
    /// Deepest nesting of arrays and maps accepted, when encoding and decoding.
    public static let maximumDepth = 64

    public let name = "binary"

    /// Creates the transcoder.
    public init() {}

    public func encode(_ snapshot: SessionSnapshot) throws -> [UInt8] {
        var writer = BinaryWriter()
        writer.bytes.reserveCapacity(64 + snapshot.attributes.count * 16)
        writer.bytes.append(contentsOf: Self.magic)
        writer.bytes.append(Self.version)
        writer.string(snapshot.id)
        writer.float64(snapshot.creationTime.timeIntervalSinceReferenceDate)
        writer.float64(snapshot.lastAccessedTime.timeIntervalSinceReferenceDate)
        writer.zigzag(snapshot.maxInactiveInterval)
        try writer.map(snapshot.attributes, depth: 0)
        return writer.bytes
    }

    public func decode(_ bytes: [UInt8]) throws -> SessionSnapshot {
        try bytes.withUnsafeBufferPointer { try decode(buffer: $0) }
    }

    public func recognizes(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: Self.magic)
    }

    /// Decodes from contiguous bytes (no copy; bounds are checked by ``BinaryReader``).
    private func decode(buffer bytes: UnsafeBufferPointer<UInt8>) throws -> SessionSnapshot {
        var reader = BinaryReader(bytes)
        guard bytes.count >= 4, bytes[0] == Self.magic[0], bytes[1] == Self.magic[1], bytes[2] == Self.magic[2] else {
            throw TranscoderError("not a binary-transcoder session (unknown magic)", offset: 0)
        }
        guard bytes[3] == Self.version else {
            throw TranscoderError("unsupported binary session version \(bytes[3])", offset: 3)
        }
        reader.offset = 4
        let id = try reader.string()
        let creation = try reader.float64()
        let lastAccess = try reader.float64()
        let maxInactive = try reader.zigzag()
        let attributes = try reader.map(depth: 0)
        guard reader.offset == bytes.count else {
            throw TranscoderError("trailing bytes after session", offset: reader.offset)
        }
        guard creation.isFinite, lastAccess.isFinite else {
            throw TranscoderError("session timestamps are not finite")
        }
        return SessionSnapshot(
            id: id,
            creationTime: Date(timeIntervalSinceReferenceDate: creation),
            lastAccessedTime: Date(timeIntervalSinceReferenceDate: lastAccess),
            maxInactiveInterval: maxInactive,
            attributes: attributes
        )
    }
}

private enum Tag: UInt8 {
    case null = 0, `false`, `true`, int, double, string, bytes, date, array, map
}

private struct BinaryWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func zigzag(_ value: Int) {
        let v = Int64(value)
        varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    mutating func float64(_ value: Double) {
        var bits = value.bitPattern.littleEndian
        withUnsafeBytes(of: &bits) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func map(_ map: [String: SessionValue], depth: Int) throws {
        varint(UInt64(map.count))
        if map.count == 1, let (key, element) = map.first {
            // The common tiny session: nothing to sort.
            string(key)
            try value(element, depth: depth)
            return
        }
        for (key, element) in map.sorted(by: { $0.key < $1.key }) {
            string(key)
            try value(element, depth: depth)
        }
    }

    mutating func value(_ value: SessionValue, depth: Int) throws {
        switch value {
        case .null: bytes.append(Tag.null.rawValue)
        case .bool(let flag): bytes.append(flag ? Tag.true.rawValue : Tag.false.rawValue)
        case .int(let int):
            bytes.append(Tag.int.rawValue)
            zigzag(int)
        case .double(let double):
            bytes.append(Tag.double.rawValue)
            float64(double)
        case .string(let text):
            bytes.append(Tag.string.rawValue)
            string(text)
        case .bytes(let raw):
            bytes.append(Tag.bytes.rawValue)
            varint(UInt64(raw.count))
            bytes.append(contentsOf: raw)
        case .date(let date):
            bytes.append(Tag.date.rawValue)
            float64(date.timeIntervalSinceReferenceDate)
        case .array(let values):
            guard depth < BinarySessionTranscoder.maximumDepth else {
                throw TranscoderError("attribute nesting deeper than \(BinarySessionTranscoder.maximumDepth)")
            }
            bytes.append(Tag.array.rawValue)
            varint(UInt64(values.count))
            for element in values { try self.value(element, depth: depth + 1) }
        case .map(let entries):
            guard depth < BinarySessionTranscoder.maximumDepth else {
                throw TranscoderError("attribute nesting deeper than \(BinarySessionTranscoder.maximumDepth)")
            }
            bytes.append(Tag.map.rawValue)
            try map(entries, depth: depth + 1)
        }
    }
}

/// Reads the format from contiguous bytes. Every access is checked against `bytes.count` before
/// it happens, so the unsafe buffer is never read out of bounds.
private struct BinaryReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var offset = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw TranscoderError("truncated", offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            let byte = try self.byte()
            if shift == 63 && byte > 1 { throw TranscoderError("varint overflows 64 bits", offset: offset - 1) }
            result |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte & 0x80 == 0 { return result }
        }
        throw TranscoderError("varint longer than 10 bytes", offset: offset)
    }

    mutating func zigzag() throws -> Int {
        let raw = try varint()
        return Int(Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1))))
    }

    /// A length that must fit in the remaining input, each unit taking at least `unit` bytes.
    mutating func length(unit: Int) throws -> Int {
        let start = offset
        let raw = try varint()
        guard raw <= UInt64(remaining / unit) else {
            throw TranscoderError("declared length \(raw) exceeds the remaining \(remaining) bytes", offset: start)
        }
        return Int(raw)
    }

    mutating func float64() throws -> Double {
        guard remaining >= 8 else { throw TranscoderError("truncated", offset: offset) }
        var bits: UInt64 = 0
        for i in 0..<8 { bits |= UInt64(bytes[offset + i]) << UInt64(8 * i) }
        offset += 8
        return Double(bitPattern: bits)
    }

    mutating func raw() throws -> UnsafeBufferPointer<UInt8> {
        let count = try length(unit: 1)
        defer { offset += count }
        return UnsafeBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    mutating func string() throws -> String {
        let start = offset
        guard let text = UTF8Text.decode(try raw()) else {
            throw TranscoderError("invalid UTF-8", offset: start)
        }
        return text
    }

    mutating func map(depth: Int) throws -> [String: SessionValue] {
        let count = try length(unit: 2)
        var map = [String: SessionValue](minimumCapacity: count)
        for _ in 0..<count {
            let keyOffset = offset
            let key = try string()
            guard map.updateValue(try value(depth: depth), forKey: key) == nil else {
                throw TranscoderError("duplicate key", offset: keyOffset)
            }
        }
        return map
    }

    mutating func value(depth: Int) throws -> SessionValue {
        let tagOffset = offset
        guard let tag = Tag(rawValue: try byte()) else {
            throw TranscoderError("unknown value tag", offset: tagOffset)
        }
        switch tag {
        case .null: return .null
        case .false: return .bool(false)
        case .true: return .bool(true)
        case .int: return .int(try zigzag())
        case .double: return .double(try float64())
        case .string: return .string(try string())
        case .bytes: return .bytes(Array(try raw()))
        case .date:
            let seconds = try float64()
            return .date(Date(timeIntervalSinceReferenceDate: seconds))
        case .array, .map:
            guard depth < BinarySessionTranscoder.maximumDepth else {
                throw TranscoderError("nesting deeper than \(BinarySessionTranscoder.maximumDepth)", offset: tagOffset)
            }
            if tag == .map { return .map(try map(depth: depth + 1)) }
            let count = try length(unit: 1)
            var values: [SessionValue] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try value(depth: depth + 1)) }
            return .array(values)
        }
    }
}
