from femqled.cli import main

raise SystemExit(main())
