/// A strict reader for the small XML subset configuration files use: a prolog, comments,
/// elements with attributes, the five predefined entities and character references.
///
/// Written here instead of using `FoundationXML` so that every error carries an exact line and
/// column, and so that DTDs (and with them external entities) are refused outright. Text content
/// other than whitespace is an error: configuration lives in attributes, as in Tomcat's server.xml.
struct MiniXMLParser {
    private let bytes: [UInt8]
    private let file: String
    private var index = 0
    private var line = 1
    private var column = 1
    private var depth = 0
    private static let maximumDepth = 32

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    }

    mutating func parseDocument() throws(ServerXMLError) -> XMLElementNode {
        try skipMisc(allowDeclaration: true)
        guard peek() == UInt8(ascii: "<") else {
            throw error("not an XML document: expected '<' to open the root element")
        }
        let root = try parseElement()
        try skipMisc(allowDeclaration: false)
        guard index >= bytes.count else { throw error("unexpected content after the root element") }
        return root
    }

    // MARK: structure

    private mutating func skipMisc(allowDeclaration: Bool) throws(ServerXMLError) {
        var first = true
        while true {
            skipWhitespace()
            if starts(with: "<?xml") {
                guard allowDeclaration && first else { throw error("XML declaration must come first") }
                try skip(past: "?>", what: "XML declaration")
            } else if starts(with: "<!--") {
                try skip(past: "-->", what: "comment")
            } else if starts(with: "<!") {
                throw error("DOCTYPE and other declarations are not allowed in configuration files")
            } else {
                return
            }
            first = false
        }
    }

    private mutating func parseElement() throws(ServerXMLError) -> XMLElementNode {
        let (startLine, startColumn) = (line, column)
        advance()  // <
        let name = try parseName(what: "element name")
        depth += 1
        guard depth <= Self.maximumDepth else { throw error("elements nested deeper than \(Self.maximumDepth)") }
        var attributes: [XMLElementNode.Attribute] = []
        while true {
            let hadSpace = skipWhitespace()
            guard let byte = peek() else { throw error("unexpected end of file inside <\(name)>") }
            if byte == UInt8(ascii: "/") {
                advance()
                guard peek() == UInt8(ascii: ">") else { throw error("expected '>' after '/' in <\(name)>") }
                advance()
                depth -= 1
                return XMLElementNode(name: name, attributes: attributes, children: [], line: startLine, column: startColumn)
            }
            if byte == UInt8(ascii: ">") {
                advance()
                break
            }
            guard hadSpace else { throw error("expected whitespace before attribute in <\(name)>") }
            let (attributeLine, attributeColumn) = (line, column)
            let attributeName = try parseName(what: "attribute name")
            skipWhitespace()
            guard peek() == UInt8(ascii: "=") else { throw error("expected '=' after attribute '\(attributeName)'") }
            advance()
            skipWhitespace()
            let value = try parseQuoted(attribute: attributeName)
            if attributes.contains(where: { $0.name == attributeName }) {
                throw ServerXMLError(file: file, line: attributeLine, column: attributeColumn, message: "duplicate attribute '\(attributeName)' on <\(name)>")
            }
            attributes.append(.init(name: attributeName, value: value, line: attributeLine, column: attributeColumn))
        }
        var children: [XMLElementNode] = []
        while true {
            try skipMisc(allowDeclaration: false)
            guard let byte = peek() else { throw error("unexpected end of file: <\(name)> opened at line \(startLine) is not closed") }
            guard byte == UInt8(ascii: "<") else { throw error("unexpected text inside <\(name)>; settings go in attributes") }
            if starts(with: "</") {
                advance(2)
                let closing = try parseName(what: "closing tag name")
                guard closing == name else { throw error("</\(closing)> does not close <\(name)> opened at line \(startLine)") }
                skipWhitespace()
                guard peek() == UInt8(ascii: ">") else { throw error("expected '>' to end </\(name)>") }
                advance()
                depth -= 1
                return XMLElementNode(name: name, attributes: attributes, children: children, line: startLine, column: startColumn)
            }
            children.append(try parseElement())
        }
    }

    private mutating func parseName(what: String) throws(ServerXMLError) -> String {
        let start = index
        while let byte = peek(), Self.isNameByte(byte, first: index == start) { advance() }
        guard index > start else { throw error("expected \(what)") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func parseQuoted(attribute: String) throws(ServerXMLError) -> String {
        guard let quote = peek(), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
            throw error("value of '\(attribute)' must be quoted")
        }
        advance()
        var value: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("unterminated value of '\(attribute)'") }
            if byte == quote { advance(); break }
            if byte == UInt8(ascii: "<") { throw error("'<' is not allowed in the value of '\(attribute)'; write &lt;") }
            if byte == UInt8(ascii: "&") {
                value.append(contentsOf: try parseEntity())
            } else {
                value.append(byte)
                advance()
            }
        }
        guard let text = String(validating: value, as: UTF8.self) else { throw error("value of '\(attribute)' is not UTF-8") }
        return text
    }

    private mutating func parseEntity() throws(ServerXMLError) -> [UInt8] {
        let start = index
        while let byte = peek(), byte != UInt8(ascii: ";"), index - start < 12 { advance() }
        guard peek() == UInt8(ascii: ";") else { throw error("unterminated entity reference") }
        let name = String(decoding: bytes[(start + 1)..<index], as: UTF8.self)
        advance()
        switch name {
        case "amp": return Array("&".utf8)
        case "lt": return Array("<".utf8)
        case "gt": return Array(">".utf8)
        case "quot": return Array("\"".utf8)
        case "apos": return Array("'".utf8)
        default:
            let scalarValue: UInt32? =
                name.hasPrefix("#x") ? UInt32(name.dropFirst(2), radix: 16)
                : name.hasPrefix("#") ? UInt32(name.dropFirst(), radix: 10) : nil
            guard let scalarValue, let scalar = Unicode.Scalar(scalarValue), scalarValue != 0 else {
                throw error("unknown entity '&\(name);'")
            }
            return Array(String(Character(scalar)).utf8)
        }
    }

    // MARK: low level

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private func starts(with text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        return text.withUTF8Buffer { bytes[index..<index + count].elementsEqual($0) }
    }

    private mutating func advance(_ count: Int = 1) {
        for _ in 0..<count where index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if bytes[index] & 0xC0 != 0x80 {
                column += 1
            }
            index += 1
        }
    }

    @discardableResult
    private mutating func skipWhitespace() -> Bool {
        let start = index
        while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { advance() }
        return index > start
    }

    private mutating func skip(past terminator: StaticString, what: String) throws(ServerXMLError) {
        let (startLine, startColumn) = (line, column)
        while index < bytes.count {
            if starts(with: terminator) {
                advance(terminator.utf8CodeUnitCount)
                return
            }
            advance()
        }
        throw ServerXMLError(file: file, line: startLine, column: startColumn, message: "unterminated \(what)")
    }

    private func error(_ message: String) -> ServerXMLError {
        ServerXMLError(file: file, line: line, column: column, message: message)
    }

    private static func isNameByte(_ byte: UInt8, first: Bool) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"), UInt8(ascii: ":"):
            return true
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."):
            return !first
        default:
            return false
        }
    }
}
