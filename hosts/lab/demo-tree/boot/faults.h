/*
 * faults.h: demo-tree.sh breaks an arch's boot here on purpose. Each is ""
 * (nobody) or an arch name: that arch panics at boot, hangs at boot, or
 * fails one self-test.
 */
#define FAULT_PANIC ""
#define FAULT_HANG ""
#define FAULT_CASE ""
