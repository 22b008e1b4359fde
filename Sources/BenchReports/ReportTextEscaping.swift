// Text from the results (labels, notes, error messages) made safe for the
// formats the report writes: XML for the chart, Markdown table cells.

import Foundation

enum ReportTextEscaping {
    /// Escapes `& < > " '` and drops characters XML 1.0 does not allow
    /// (control characters other than tab, newline and carriage return).
    static func xml(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                let value = scalar.value
                if value < 0x20 || value == 0xFFFE || value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// One line of text safe inside a Markdown table cell: no line breaks, `|`
    /// escaped, and `<`, `>`, `&` as entities so it is never read as HTML.
    static func markdownCell(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "|": out += "\\|"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\n", "\r", "\t": out += " "
            default:
                if scalar.value < 0x20 { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Text safe as a Markdown paragraph or list item: as a cell, but `|` kept.
    static func markdownText(_ text: String) -> String {
        markdownCell(text).replacingOccurrences(of: "\\|", with: "|")
    }

    /// A fence longer than any run of backticks in `text`, for a code block.
    static func codeFence(for text: String) -> String {
        var longest = 0
        var current = 0
        for character in text {
            current = character == "`" ? current + 1 : 0
            longest = max(longest, current)
        }
        return String(repeating: "`", count: max(3, longest + 1))
    }
}
