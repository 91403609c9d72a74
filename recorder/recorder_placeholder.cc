// Placeholder until the first recorder module lands; removed with it.
