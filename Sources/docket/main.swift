import DocketCLI

DocketMain.run()
