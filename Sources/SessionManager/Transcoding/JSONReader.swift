import Foundation

/// A strict JSON reader for ``JSONSessionTranscoder``, over contiguous bytes.
///
/// Every access is checked against `bytes.count` first; containers are built element by element,
/// so memory grows with the input only; nesting is limited by ``JSONSessionTranscoder/maximumDepth``.
struct JSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var offset = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    // MARK: the session object

    mutating func session() throws -> SessionSnapshot {
        var format: String?, version: Int?, id: String?, created: Double?, accessed: Double?, maxInactive: Int?
        var attributes: [String: SessionValue]?
        try expect(UInt8(ascii: "{"))
        var first = true
        while true {
            skipSpace()
            if try peek() == UInt8(ascii: "}") && first { break }
            if !first { try expect(UInt8(ascii: ",")) }
            first = false
            let keyOffset = offset
            let key = try string()
            try expect(UInt8(ascii: ":"))
            var duplicate = false
            switch key {
            case "format": duplicate = format != nil; format = try string()
            case "version": duplicate = version != nil; version = try integer()
            case "id": duplicate = id != nil; id = try string()
            case "creationTime": duplicate = created != nil; created = try finiteNumber()
            case "lastAccessedTime": duplicate = accessed != nil; accessed = try finiteNumber()
            case "maxInactiveInterval": duplicate = maxInactive != nil; maxInactive = try integer()
            case "attributes": duplicate = attributes != nil; attributes = try object(depth: 0)
            default: throw TranscoderError("unknown session key '\(key)'", offset: keyOffset)
            }
            if duplicate { throw TranscoderError("duplicate session key '\(key)'", offset: keyOffset) }
            skipSpace()
            if try peek() == UInt8(ascii: "}") { break }
        }
        offset += 1
        skipSpace()
        guard offset == bytes.count else { throw TranscoderError("trailing bytes after session", offset: offset) }
        guard format == JSONSessionTranscoder.format else { throw TranscoderError("not a swift-session-manager/json session") }
        guard version == JSONSessionTranscoder.version else {
            throw TranscoderError("unsupported json session version \(version.map(String.init) ?? "(missing)")")
        }
        guard let id, let created, let accessed, let maxInactive, let attributes else {
            throw TranscoderError("session object lacks id, creationTime, lastAccessedTime, maxInactiveInterval or attributes")
        }
        return SessionSnapshot(
            id: id,
            creationTime: Date(timeIntervalSinceReferenceDate: created),
            lastAccessedTime: Date(timeIntervalSinceReferenceDate: accessed),
            maxInactiveInterval: maxInactive,
            attributes: attributes
        )
    }

    // MARK: values

    mutating func value(depth: Int) throws -> SessionValue {
        skipSpace()
        let start = offset
        switch try peek() {
        case UInt8(ascii: "{"):
            guard depth < JSONSessionTranscoder.maximumDepth else {
                throw TranscoderError("nesting deeper than \(JSONSessionTranscoder.maximumDepth)", offset: start)
            }
            return try objectValue(depth: depth + 1)
        case UInt8(ascii: "["):
            guard depth < JSONSessionTranscoder.maximumDepth else {
                throw TranscoderError("nesting deeper than \(JSONSessionTranscoder.maximumDepth)", offset: start)
            }
            offset += 1
            var values: [SessionValue] = []
            skipSpace()
            if try peek() == UInt8(ascii: "]") {
                offset += 1
                return .array(values)
            }
            while true {
                values.append(try value(depth: depth + 1))
                skipSpace()
                let byte = try next()
                if byte == UInt8(ascii: "]") { return .array(values) }
                guard byte == UInt8(ascii: ",") else { throw TranscoderError("expected , or ] in array", offset: offset - 1) }
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default:
            switch try number() {
            case .int(let int): return .int(int)
            case .double(let double): return .double(double)
            }
        }
    }

    /// An object in value position: a tagged value (`$date`, `$bytes`, `$double`) or a map.
    private mutating func objectValue(depth: Int) throws -> SessionValue {
        let start = offset
        offset += 1
        skipSpace()
        if try peek() == UInt8(ascii: "\"") {
            let save = offset
            let key = try string()
            if key.hasPrefix("$") && !key.hasPrefix("$$") {
                try expect(UInt8(ascii: ":"))
                let tagged = try taggedValue(key, at: save)
                try expect(UInt8(ascii: "}"))
                return tagged
            }
            offset = save
        }
        offset = start
        return .map(try object(depth: depth))
    }

    private mutating func taggedValue(_ tag: String, at keyOffset: Int) throws -> SessionValue {
        skipSpace()
        switch tag {
        case "$date":
            return .date(Date(timeIntervalSinceReferenceDate: try finiteNumber()))
        case "$double":
            let valueOffset = offset
            switch try string() {
            case "NaN": return .double(.nan)
            case "Infinity": return .double(.infinity)
            case "-Infinity": return .double(-.infinity)
            default: throw TranscoderError("$double must be NaN, Infinity or -Infinity", offset: valueOffset)
            }
        case "$bytes":
            let valueOffset = offset
            let text = try rawString()
            guard let decoded = Base64.decode(text) else { throw TranscoderError("$bytes is not padded base64", offset: valueOffset) }
            return .bytes(decoded)
        default:
            throw TranscoderError("unknown tag '\(tag)' (map keys starting with $ are written as $$…)", offset: keyOffset)
        }
    }

    /// A map object; keys starting with `$$` lose one `$`, other `$` keys are errors.
    mutating func object(depth: Int) throws -> [String: SessionValue] {
        skipSpace()
        try expect(UInt8(ascii: "{"))
        var map: [String: SessionValue] = [:]
        skipSpace()
        if try peek() == UInt8(ascii: "}") {
            offset += 1
            return map
        }
        while true {
            skipSpace()
            let keyOffset = offset
            var key = try string()
            if key.hasPrefix("$") {
                guard key.hasPrefix("$$") else { throw TranscoderError("unexpected tag '\(key)' inside a map", offset: keyOffset) }
                key.removeFirst()
            }
            try expect(UInt8(ascii: ":"))
            guard map.updateValue(try value(depth: depth), forKey: key) == nil else {
                throw TranscoderError("duplicate key", offset: keyOffset)
            }
            skipSpace()
            let byte = try next()
            if byte == UInt8(ascii: "}") { return map }
            guard byte == UInt8(ascii: ",") else { throw TranscoderError("expected , or } in object", offset: offset - 1) }
        }
    }

    // MARK: scalars

    enum Number { case int(Int), double(Double) }

    /// A number by the JSON grammar; integers must fit in 64 bits, doubles must be finite.
    mutating func number() throws -> Number {
        skipSpace()
        let start = offset
        var isDouble = false
        if offset < bytes.count && bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        guard offset < bytes.count else { throw TranscoderError("truncated number", offset: start) }
        if bytes[offset] == UInt8(ascii: "0") {
            offset += 1
        } else {
            guard digits() > 0 else { throw TranscoderError("expected a value", offset: start) }
        }
        if offset < bytes.count && bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            isDouble = true
            guard digits() > 0 else { throw TranscoderError("expected digits after .", offset: offset) }
        }
        if offset < bytes.count && (bytes[offset] | 0x20) == UInt8(ascii: "e") {
            offset += 1
            isDouble = true
            if offset < bytes.count && (bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-")) { offset += 1 }
            guard digits() > 0 else { throw TranscoderError("expected exponent digits", offset: offset) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        if isDouble {
            guard let double = Double(text), double.isFinite else { throw TranscoderError("number out of range", offset: start) }
            return .double(double)
        }
        guard let int = Int(text) else { throw TranscoderError("integer out of 64-bit range", offset: start) }
        return .int(int)
    }

    private mutating func digits() -> Int {
        let start = offset
        while offset < bytes.count, bytes[offset] >= UInt8(ascii: "0"), bytes[offset] <= UInt8(ascii: "9") { offset += 1 }
        return offset - start
    }

    mutating func integer() throws -> Int {
        let start = offset
        guard case .int(let value) = try number() else { throw TranscoderError("expected an integer", offset: start) }
        return value
    }

    /// A finite number, integer or not, as a double (timestamps).
    mutating func finiteNumber() throws -> Double {
        switch try number() {
        case .int(let int): return Double(int)
        case .double(let double): return double
        }
    }

    /// A string's raw bytes between the quotes, for values that allow no escapes (base64).
    private mutating func rawString() throws -> UnsafeBufferPointer<UInt8> {
        try expect(UInt8(ascii: "\""))
        let start = offset
        while offset < bytes.count, bytes[offset] != UInt8(ascii: "\"") {
            guard bytes[offset] != UInt8(ascii: "\\") else { throw TranscoderError("escape in base64 text", offset: offset) }
            offset += 1
        }
        guard offset < bytes.count else { throw TranscoderError("unterminated string", offset: start) }
        defer { offset += 1 }
        return UnsafeBufferPointer(rebasing: bytes[start..<offset])
    }

    mutating func string() throws -> String {
        skipSpace()
        try expect(UInt8(ascii: "\""))
        let start = offset
        // Fast path: no escapes.
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                guard let text = UTF8Text.decode(UnsafeBufferPointer(rebasing: bytes[start..<offset])) else {
                    throw TranscoderError("invalid UTF-8", offset: start)
                }
                offset += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw TranscoderError("control character in string", offset: offset) }
            offset += 1
        }
        guard offset < bytes.count else { throw TranscoderError("unterminated string", offset: start) }
        var scratch = Array(UnsafeBufferPointer(rebasing: bytes[start..<offset]))
        while true {
            let byte = try next()
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = scratch.withUnsafeBufferPointer(UTF8Text.decode) else { throw TranscoderError("invalid UTF-8", offset: start) }
                return text
            case UInt8(ascii: "\\"):
                let escapeOffset = offset - 1
                switch try next() {
                case UInt8(ascii: "\""): scratch.append(0x22)
                case UInt8(ascii: "\\"): scratch.append(0x5C)
                case UInt8(ascii: "/"): scratch.append(0x2F)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = UInt32(try hex4())
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard try next() == UInt8(ascii: "\\"), try next() == UInt8(ascii: "u") else {
                            throw TranscoderError("lone surrogate", offset: escapeOffset)
                        }
                        let low = UInt32(try hex4())
                        guard (0xDC00..<0xE000).contains(low) else { throw TranscoderError("lone surrogate", offset: escapeOffset) }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw TranscoderError("lone surrogate", offset: escapeOffset) }
                    scratch.append(contentsOf: unicode.utf8)
                default:
                    throw TranscoderError("unknown escape", offset: escapeOffset)
                }
            default:
                guard byte >= 0x20 else { throw TranscoderError("control character in string", offset: offset - 1) }
                scratch.append(byte)
            }
        }
    }

    private mutating func hex4() throws -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = try next()
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw TranscoderError("bad \\u escape", offset: offset - 1)
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    // MARK: bytes

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard bytes.count - offset >= count else { throw TranscoderError("truncated", offset: offset) }
        for i in 0..<count where bytes[offset + i] != word.utf8Start[i] {
            throw TranscoderError("expected a value", offset: offset)
        }
        offset += count
    }

    mutating func skipSpace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x0A, 0x0D, 0x09: offset += 1
            default: return
            }
        }
    }

    private func peek() throws -> UInt8 {
        guard offset < bytes.count else { throw TranscoderError("truncated", offset: offset) }
        return bytes[offset]
    }

    private mutating func next() throws -> UInt8 {
        guard offset < bytes.count else { throw TranscoderError("truncated", offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func expect(_ byte: UInt8) throws {
        skipSpace()
        guard try next() == byte else {
            throw TranscoderError("expected '\(Character(Unicode.Scalar(byte)))'", offset: offset - 1)
        }
    }
}
