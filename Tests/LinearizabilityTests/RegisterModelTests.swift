import Linearizability
import Testing

/// The register's sequential specification, step by step.
struct RegisterModelTests {
    @Test func acceptsOnlyOutputsItCouldProduce() {
        let model = Register()
        #expect(model.step(nil, .get("x"), .value(nil)) == (true, nil))
        #expect(model.step(1, .get("x"), .value(2)).legal == false)
        #expect(model.step(1, .cas("x", expected: 1, new: 2), nil) == (true, 2))
        #expect(model.step(3, .cas("x", expected: 1, new: 2), nil) == (true, 3))
        #expect(model.step(3, .cas("x", expected: nil, new: 2), .casFailed) == (true, 3))
        #expect(model.step(nil, .cas("x", expected: nil, new: 2), .ok) == (true, 2))
        #expect(model.step(1, .delete("x"), .ok) == (true, nil))
        #expect(model.step(1, .delete("x"), .value(1)).legal == false)
    }
}
