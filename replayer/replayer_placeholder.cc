// Placeholder until the first replayer module lands; removed with it.
