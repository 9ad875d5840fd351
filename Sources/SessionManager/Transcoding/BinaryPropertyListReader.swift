import Foundation

/// A bounded reader of `bplist00` documents, for ``PropertyListSessionTranscoder``.
///
/// Foundation writes the plists; we read them ourselves because Foundation's reader traps on some
/// corrupt documents (found by our fuzz test), and a corrupt blob in a store must never crash the
/// server. Every offset and count is checked against the input before use, nesting is limited,
/// and the number of objects visited is limited to four per input byte, so shared references
/// (a document whose arrays point at each other) cannot blow up time or memory.
struct BinaryPropertyListReader {
    /// A parsed object.
    indirect enum Object {
        case bool(Bool)
        case int(Int)
        case real(Double)
        case date(Double)
        case data([UInt8])
        case string(String)
        case array([Object])
        case dictionary([(key: String, value: Object)])
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var offsetIntSize = 0
    private var objectRefSize = 0
    private var objectCount = 0
    private var offsetTable = 0
    private var budget: Int
    private let maximumDepth: Int

    /// Reads the top object of `bytes`.
    static func read(_ bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int) throws -> Object {
        var reader = BinaryPropertyListReader(bytes: bytes, budget: 4 * bytes.count + 64, maximumDepth: maximumDepth)
        let top = try reader.readTrailer()
        return try reader.object(top, depth: 0)
    }

    private init(bytes: UnsafeBufferPointer<UInt8>, budget: Int, maximumDepth: Int) {
        self.bytes = bytes
        self.budget = budget
        self.maximumDepth = maximumDepth
    }

    private func fail(_ message: String, _ offset: Int? = nil) -> TranscoderError {
        TranscoderError("corrupt property list: \(message)", offset: offset)
    }

    /// Validates the 32-byte trailer and returns the top object's index.
    private mutating func readTrailer() throws -> Int {
        guard bytes.count >= 8 + 1 + 32, bytes.starts(with: Array("bplist00".utf8)) else { throw fail("too short or no bplist00 header", 0) }
        let trailer = bytes.count - 32
        offsetIntSize = Int(bytes[trailer + 6])
        objectRefSize = Int(bytes[trailer + 7])
        guard (1...8).contains(offsetIntSize), (1...8).contains(objectRefSize) else { throw fail("bad integer sizes in trailer", trailer) }
        let count = unsigned(at: trailer + 8, size: 8)
        let top = unsigned(at: trailer + 16, size: 8)
        let table = unsigned(at: trailer + 24, size: 8)
        guard table >= 9, table < UInt64(trailer), count >= 1, top < count,
            count <= UInt64(trailer - Int(table)) / UInt64(offsetIntSize)
        else { throw fail("bad object table in trailer", trailer) }
        objectCount = Int(count)
        offsetTable = Int(table)
        return Int(top)
    }

    /// A big-endian unsigned integer of `size` (1...8) bytes; the caller checked the range.
    private func unsigned(at offset: Int, size: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<size { value = value << 8 | UInt64(bytes[offset + i]) }
        return value
    }

    /// Checks that `count` bytes from `offset` lie in the object area.
    private func need(_ offset: Int, _ count: Int) throws {
        guard count >= 0, offset >= 8, offset <= offsetTable, count <= offsetTable - offset else {
            throw fail("object extends past the object area", offset)
        }
    }

    /// An object reference; `-1` (rejected by ``objectOffset(_:)``) when it does not fit an `Int`.
    private func reference(at offset: Int) -> Int {
        Int(exactly: unsigned(at: offset, size: objectRefSize)) ?? -1
    }

    private func objectOffset(_ index: Int) throws -> Int {
        guard index >= 0, index < objectCount else { throw fail("object reference \(index) out of range") }
        let offset = unsigned(at: offsetTable + index * offsetIntSize, size: offsetIntSize)
        guard offset >= 8, offset < UInt64(offsetTable) else { throw fail("object offset out of range") }
        return Int(offset)
    }

    /// The count of a data, string, array or dictionary object and where its contents start.
    private func count(marker: UInt8, at offset: Int) throws -> (count: Int, start: Int) {
        let low = Int(marker & 0x0F)
        guard low == 0x0F else { return (low, offset + 1) }
        try need(offset + 1, 1)
        let intMarker = bytes[offset + 1]
        guard intMarker & 0xF0 == 0x10, intMarker & 0x0F <= 3 else { throw fail("bad count", offset + 1) }
        let size = 1 << Int(intMarker & 0x0F)
        try need(offset + 2, size)
        let value = unsigned(at: offset + 2, size: size)
        guard value <= UInt64(offsetTable) else { throw fail("count larger than the document", offset + 1) }
        return (Int(value), offset + 2 + size)
    }

    private mutating func object(_ index: Int, depth: Int) throws -> Object {
        guard depth <= maximumDepth else { throw fail("nesting deeper than \(maximumDepth)") }
        budget -= 1
        guard budget >= 0 else { throw fail("too many object visits for the document size (shared references)") }
        let offset = try objectOffset(index)
        try need(offset, 1)
        let marker = bytes[offset]
        switch marker >> 4 {
        case 0x0:
            switch marker {
            case 0x08: return .bool(false)
            case 0x09: return .bool(true)
            default: throw fail("unsupported marker \(marker)", offset)
            }
        case 0x1:
            let size = 1 << Int(marker & 0x0F)
            guard size <= 8 else { throw fail("integer wider than 64 bits", offset) }
            try need(offset + 1, size)
            let raw = unsigned(at: offset + 1, size: size)
            return .int(size == 8 ? Int(Int64(bitPattern: raw)) : Int(raw))
        case 0x2:
            switch marker & 0x0F {
            case 2:
                try need(offset + 1, 4)
                return .real(Double(Float(bitPattern: UInt32(unsigned(at: offset + 1, size: 4)))))
            case 3:
                try need(offset + 1, 8)
                return .real(Double(bitPattern: unsigned(at: offset + 1, size: 8)))
            default: throw fail("bad real size", offset)
            }
        case 0x3:
            guard marker == 0x33 else { throw fail("bad date", offset) }
            try need(offset + 1, 8)
            return .date(Double(bitPattern: unsigned(at: offset + 1, size: 8)))
        case 0x4:
            let (count, start) = try self.count(marker: marker, at: offset)
            try need(start, count)
            return .data(Array(UnsafeBufferPointer(rebasing: bytes[start..<start + count])))
        case 0x5:
            let (count, start) = try self.count(marker: marker, at: offset)
            try need(start, count)
            let ascii = UnsafeBufferPointer(rebasing: bytes[start..<start + count])
            guard UTF8Text.isASCII(ascii) else { throw fail("non-ASCII byte in an ASCII string", start) }
            return .string(String(decoding: ascii, as: UTF8.self))
        case 0x6:
            let (count, start) = try self.count(marker: marker, at: offset)
            guard count <= offsetTable / 2 else { throw fail("string longer than the document", offset) }
            try need(start, count * 2)
            var units: [UInt16] = []
            units.reserveCapacity(count)
            for i in 0..<count { units.append(UInt16(bytes[start + 2 * i]) << 8 | UInt16(bytes[start + 2 * i + 1])) }
            guard let text = String(validating: units, as: UTF16.self) else { throw fail("invalid UTF-16", start) }
            return .string(text)
        case 0xA:
            let (count, start) = try self.count(marker: marker, at: offset)
            guard count <= offsetTable / objectRefSize else { throw fail("array longer than the document", offset) }
            try need(start, count * objectRefSize)
            var elements: [Object] = []
            elements.reserveCapacity(count)
            for i in 0..<count {
                let ref = reference(at: start + i * objectRefSize)
                elements.append(try object(ref, depth: depth + 1))
            }
            return .array(elements)
        case 0xD:
            let (count, start) = try self.count(marker: marker, at: offset)
            guard count <= offsetTable / (2 * objectRefSize) else { throw fail("dictionary longer than the document", offset) }
            try need(start, 2 * count * objectRefSize)
            var entries: [(key: String, value: Object)] = []
            entries.reserveCapacity(count)
            for i in 0..<count {
                let keyRef = reference(at: start + i * objectRefSize)
                let valueRef = reference(at: start + (count + i) * objectRefSize)
                guard case .string(let key) = try object(keyRef, depth: depth + 1) else { throw fail("dictionary key is not a string", offset) }
                entries.append((key, try object(valueRef, depth: depth + 1)))
            }
            return .dictionary(entries)
        default:
            throw fail("unsupported marker \(marker)", offset)
        }
    }
}
