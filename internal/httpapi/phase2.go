package httpapi

func (s *Server) registerPhase2() {}
