
@testable import BenchReports
import LoadGeneration
@testable import LoadGeneration
import Testing

/// Numbers and text as the report writes them.
struct ReportFormattingTests {
    @Test func wholeNumbersHaveThousandsSeparators() {
        #expect(ReportNumberFormat.whole(0) == "0")
        #expect(ReportNumberFormat.whole(999.4) == "999")
        #expect(ReportNumberFormat.whole(1_234_567.5) == "1,234,568")
        #expect(ReportNumberFormat.whole(-12_345) == "-12,345")
    }

    @Test func millisecondsHaveThreeSignificantDigits() {
        #expect(ReportNumberFormat.significant(0.045678) == "0.0457")
        #expect(ReportNumberFormat.significant(1.234) == "1.23")
        #expect(ReportNumberFormat.significant(12.34) == "12.3")
        #expect(ReportNumberFormat.significant(123.4) == "123")
        #expect(ReportNumberFormat.significant(9.996) == "10.0")
        #expect(ReportNumberFormat.significant(1_234.5) == "1,230")
        #expect(ReportNumberFormat.milliseconds(nil) == "—")
    }

    @Test func ratiosDoNotRoundAcrossTheTarget() {
        #expect(ReportNumberFormat.ratio(2.5) == "2.50×")
        #expect(ReportNumberFormat.ratio(1.998, against: 2) == "1.998×")
        #expect(ReportNumberFormat.ratio(2.0004, against: 2) == "2.0004×")
        #expect(ReportNumberFormat.ratio(2.3, against: 2) == "2.30×")
        #expect(ReportNumberFormat.ratio(2, paired: .init(min: 1.5, median: 2, max: 2.5, count: 3)) == "2.00× (1.50–2.50)")
    }

    @Test func compactAxisLabels() {
        #expect(ReportNumberFormat.compact(950) == "950")
        #expect(ReportNumberFormat.compact(1_500) == "1.5k")
        #expect(ReportNumberFormat.compact(20_000) == "20k")
        #expect(ReportNumberFormat.compact(1_200_000) == "1.2M")
        #expect(ReportNumberFormat.compact(0.05) == "0.05")
    }

    @Test func xmlEscapingCoversMarkupAndDropsControlCharacters() {
        #expect(ReportTextEscaping.xml("a<b>&\"c\"'d'") == "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;")
        #expect(ReportTextEscaping.xml("x\u{0}y\u{1B}z\tw") == "xyz\tw")
    }

    @Test func markdownCellEscaping() {
        #expect(ReportTextEscaping.markdownCell("a|b\nc<d>") == "a\\|b c&lt;d&gt;")
        #expect(ReportTextEscaping.codeFence(for: "no ticks") == "```")
        #expect(ReportTextEscaping.codeFence(for: "a ```` b") == "`````")
    }

    @Test func dateComesFromTheStartTime() {
        let results = ReportFixtures.results(runs: [])
        #expect(PeerBenchReport.date(of: results) == "2025-06-01")
    }
}
